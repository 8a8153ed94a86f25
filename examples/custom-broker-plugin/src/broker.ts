import { InvalidOptionsError, NotConnectedError, PayloadTooLargeError } from '@conveyor/core'
import {
  type Broker,
  type BrokerCapabilities,
  type CloseOptions,
  type ConsumeOptions,
  type DeliveryHandler,
  type Envelope,
  encodeEnvelope,
  type QueueSpec,
  type Subscription,
  utf8Length,
} from '@conveyor/core/adapter'
import pg from 'pg'
import { PostgresSubscription } from './consumer'
import { deadLetterStore } from './dead-letters'
import type { PostgresBrokerOptions } from './options'
import { ensureOpen, type Runtime } from './runtime'
import { ensureSchema, tablesFor } from './schema'
import { statements } from './sql'

/**
 * A Conveyor broker on PostgreSQL: one table per namespace, `FOR UPDATE SKIP LOCKED` fetches, leases as a
 * timestamp column (a crashed consumer's rows simply become fetchable again), LISTEN/NOTIFY wake-ups.
 */
export function createPostgresBroker(options: PostgresBrokerOptions): Broker {
  const leaseMs = options.leaseMs ?? 30_000
  const pollMs = options.pollMs ?? 250
  const maxMessageBytes = options.maxMessageBytes ?? 8 * 1024 * 1024
  if (!(Number.isInteger(leaseMs) && leaseMs >= 50)) {
    throw new InvalidOptionsError(`[postgres] leaseMs must be an integer ≥ 50, got ${leaseMs}`)
  }
  if (!(Number.isInteger(pollMs) && pollMs >= 10)) {
    throw new InvalidOptionsError(`[postgres] pollMs must be an integer ≥ 10, got ${pollMs}`)
  }
  if (options.pool === undefined && options.connectionString === undefined) {
    throw new InvalidOptionsError('[postgres] pass { pool } or { connectionString }')
  }
  const ownsPool = options.pool === undefined
  const pool = options.pool ?? new pg.Pool({ connectionString: options.connectionString, max: options.poolSize ?? 5 })
  // An idle client dying (server restart) must not crash the process; the next query reconnects.
  if (ownsPool) pool.on('error', () => {})
  const tables = tablesFor(options.namespace ?? 'default')
  let schema: Promise<void> | undefined
  let listener: pg.PoolClient | undefined
  const rt: Runtime = {
    pool,
    tables,
    sql: statements(tables),
    leaseMs,
    state: 'open',
    held: new Map(),
    settling: new Set(),
    abandon: new Set(),
    async extend(tokens) {
      // The LISTEN connection doubles as the heartbeat: it is never queued behind publishes and fetches.
      await (listener ?? pool).query(rt.sql.extend, [tokens, leaseMs])
    },
    ready() {
      schema ??= ensureSchema(pool, tables).catch((error: unknown) => {
        schema = undefined
        throw error
      })
      return schema
    },
  }
  const subscriptions = new Set<PostgresSubscription>()
  let listening: Promise<void> | undefined
  let timers: NodeJS.Timeout[] = []

  const capabilities: BrokerCapabilities = Object.freeze({
    delayedDelivery: 'native',
    priorityLevels: 10,
    deadLetter: 'emulated',
    deadLetterManagement: true,
    leaseExtension: true,
    deliveryCount: true,
    persistence: true,
    clusterMode: false,
    maxMessageBytes,
    // Delayed rows become fetchable when due and are found at the next poll; under traffic the pool (publishes,
    // fetches and settlements share it) adds more: measured up to ~800 ms on a heavily loaded machine.
    delayLateness: { fixedMs: pollMs + 1000, ratio: 0.02 },
  })

  const wakeQueue = (queue: string | undefined) => {
    for (const sub of subscriptions) if (queue === undefined || sub.queue === queue) sub.wake()
  }

  /** LISTEN on a dedicated connection, and the timers: polling (delays, expired leases) and lease extension. */
  const startBackground = () => {
    listening ??= (async () => {
      const client = await pool.connect()
      client.on('error', () => {}) // polling carries on without wake-ups
      client.on('notification', (message) => wakeQueue(message.payload))
      await client.query(`LISTEN ${tables.channel}`)
      listener = client
      if (rt.state === 'destroyed' || rt.state === 'closed') client.release(true)
    })()
    if (timers.length > 0) return
    const poll = setInterval(() => wakeQueue(undefined), pollMs)
    let extending = false
    const extend = setInterval(
      () => {
        if (extending || rt.held.size === 0 || rt.state === 'destroyed') return
        extending = true
        rt.extend([...rt.held.keys()])
          .catch(() => {})
          .finally(() => {
            extending = false
          })
      },
      Math.max(10, Math.floor(leaseMs / 3)),
    )
    poll.unref()
    extend.unref()
    timers = [poll, extend]
  }

  const stopBackground = () => {
    for (const timer of timers) clearInterval(timer)
    timers = []
    listener?.release(true)
    listener = undefined
  }

  const insert = async (queue: string, body: string, priority: number, notBefore: number) => {
    ensureOpen(rt)
    const size = utf8Length(body)
    if (size > maxMessageBytes) {
      throw new PayloadTooLargeError(`[postgres] message of ${size} bytes exceeds maxMessageBytes ${maxMessageBytes}`)
    }
    await rt.ready()
    const due = notBefore <= Date.now()
    await pool.query(due ? rt.sql.insertAndNotify : rt.sql.insert, [queue, body, priority, notBefore])
  }

  const releaseHeld = async () => {
    await Promise.all(
      [...rt.held.values()]
        .filter((held) => !held.settling)
        .map(async (held) => {
          await pool.query(rt.sql.release, [held.seq, held.token]).catch(() => {})
          rt.held.delete(held.token)
        }),
    )
  }

  return {
    name: 'postgres',
    capabilities,
    deadLetters: deadLetterStore(rt),
    async connect() {
      ensureOpen(rt)
      await rt.ready()
    },
    async declare(spec: QueueSpec) {
      ensureOpen(rt)
      if (spec.type !== undefined && spec.type !== 'table') {
        throw new InvalidOptionsError(`[postgres] queue type must be "table", got ${JSON.stringify(spec.type)}`)
      }
      if (spec.arguments && Object.keys(spec.arguments).length > 0) {
        throw new InvalidOptionsError(`[postgres] queue "${spec.name}" takes no arguments`)
      }
      await rt.ready()
    },
    publish: (envelope: Envelope) =>
      insert(envelope.queue, encodeEnvelope(envelope), envelope.priority, envelope.notBefore ?? 0),
    publishRaw: (queue: string, body: string) => insert(queue, body, 0, 0),
    async consume(queue: string, handler: DeliveryHandler, consumeOptions: ConsumeOptions): Promise<Subscription> {
      ensureOpen(rt)
      if (!(Number.isInteger(consumeOptions.prefetch) && consumeOptions.prefetch >= 1)) {
        throw new InvalidOptionsError(`[postgres] prefetch must be an integer ≥ 1, got ${consumeOptions.prefetch}`)
      }
      await rt.ready()
      startBackground()
      await listening
      const sub = new PostgresSubscription(queue, rt, handler, consumeOptions.prefetch)
      subscriptions.add(sub)
      sub.wake()
      return {
        queue,
        async cancel() {
          await sub.cancel()
          subscriptions.delete(sub)
        },
      }
    },
    async purge(queue: string) {
      await rt.ready()
      return (await pool.query(rt.sql.purge, [queue])).rowCount ?? 0
    },
    async stats(queue: string) {
      await rt.ready()
      const { rows } = await pool.query<{ ready: number; in_flight: number; delayed: number; dead: number }>(
        rt.sql.stats,
        [queue, Date.now()],
      )
      const row = rows[0]
      return { ready: row?.ready ?? 0, inFlight: row?.in_flight ?? 0, delayed: row?.delayed ?? 0, dead: row?.dead ?? 0 }
    },
    async close(closeOptions: CloseOptions = {}) {
      if (rt.state !== 'open') return
      rt.state = 'closing'
      for (const sub of subscriptions) await sub.cancel()
      subscriptions.clear()
      const deadline = Date.now() + (closeOptions.timeoutMs ?? 0)
      while (rt.held.size > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      await releaseHeld()
      await Promise.allSettled([...rt.settling])
      await listening?.catch(() => {})
      rt.state = 'closed'
      stopBackground()
      if (ownsPool) await pool.end()
    },
    async destroy() {
      if (rt.state === 'destroyed') return
      const wasClosed = rt.state === 'closed'
      rt.state = 'destroyed'
      subscriptions.clear()
      stopBackground()
      for (const reject of rt.abandon) reject(new NotConnectedError('[postgres] broker was destroyed while settling'))
      rt.abandon.clear()
      // Nothing is released or extended: the leases expire as if the process had died.
      if (ownsPool && !wasClosed) await pool.end().catch(() => {})
    },
  }
}
