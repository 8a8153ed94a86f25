import { InvalidOptionsError, NotConnectedError, PayloadTooLargeError } from '@conveyor/core'
import {
  assertEnvelope,
  type Broker,
  type BrokerCapabilities,
  type CloseOptions,
  type ConsumeOptions,
  type DeliveryHandler,
  type Envelope,
  type QueueSpec,
  type QueueStats,
  type Subscription,
  sleep,
  utf8Length,
} from '@conveyor/core/adapter'
import { encodeStored, storedReadyAt, storeRaw } from './codec'
import { closeClient, connectionOf, ensureConnected, openClient, serverName, splitUrl } from './connection'
import { Consumer } from './consumer'
import { createDeadLetterStore } from './dead-letters'
import { CONFIRMED_SCRIPTS, checkDurability, runConfirmed } from './durability'
import { createRedisEventStream } from './event-stream'
import { type QueueKeys, queueKeys, queuesKey } from './keys'
import { OutageReporter, resolveLogger } from './logger'
import type { RedisBrokerOptions } from './options'
import { type BrokerShared, CHUNK, QueueRuntime } from './runtime'
import { runScript } from './scripts'

/**
 * A broker on Redis: priority lists, a delayed zset promoted by the fetch script, leases in a zset extended while
 * handlers run and reclaimed by any live consumer when they expire, delivery counts kept with each message, and dead
 * letters per queue. Every multi-key step is one Lua script over the keys of one queue (one cluster slot).
 */
// A dead worker's deliveries are back within about this long plus one fetch: under the 10 s the docs promise.
const DEFAULT_LEASE_MS = 8_000

export function createRedisBroker(options: RedisBrokerOptions = {}): Broker {
  const fromUrl = options.url !== undefined ? splitUrl(options.url) : undefined
  const prefix = options.prefix ?? fromUrl?.prefix ?? 'conveyor'
  const leaseMs = options.leaseMs ?? fromUrl?.leaseMs ?? DEFAULT_LEASE_MS
  const maxMessageBytes = options.maxMessageBytes ?? 16 * 1024 * 1024
  const maxBlockMs = options.maxBlockMs ?? 5_000
  const maxBatch = options.maxBatch ?? 256
  if (!(Number.isFinite(leaseMs) && leaseMs >= 50)) {
    throw new InvalidOptionsError(`[redis] leaseMs must be a number ≥ 50, got ${leaseMs}`)
  }
  if (!(Number.isInteger(maxBatch) && maxBatch >= 1)) {
    throw new InvalidOptionsError(`[redis] maxBatch must be an integer ≥ 1, got ${maxBatch}`)
  }
  if (prefix === '' || prefix.includes('{') || prefix.includes('}')) {
    throw new InvalidOptionsError(`[redis] prefix must be non-empty without braces, got "${prefix}"`)
  }
  const durability = checkDurability(options.durability)
  const logger = resolveLogger(options.logger)
  const { client, owned } = openClient(options, `conveyor:${prefix}`)
  const outage = new OutageReporter(logger, 'broker', serverName(options))
  // Without a listener ioredis prints every connection error; the outage reporter logs one per outage instead.
  const onError = (error: unknown) => outage.failed(error)
  client.on('error', onError)

  let state: ReturnType<BrokerShared['state']> = 'open'
  const runtimes = new Map<string, QueueRuntime>()
  const consumers = new Set<Consumer>()
  let leaseTimer: NodeJS.Timeout | undefined
  let extending = false

  const shared: BrokerShared = {
    client,
    prefix,
    leaseMs,
    outage,
    state: () => state,
    durable: durability !== undefined,
    run: (name, keys, args, mode) =>
      durability !== undefined && CONFIRMED_SCRIPTS.has(name)
        ? runConfirmed(client, name, keys, args, durability)
        : runScript(client, name, keys, args, mode),
    stalled: () => {
      outage.failed(new Error('[conveyor] [redis] a fetch got no answer; the connection looks dead'))
      if (owned) client.disconnect(true)
    },
  }

  const runtime = (queue: string): QueueRuntime => {
    let rt = runtimes.get(queue)
    if (rt === undefined) {
      if (typeof queue !== 'string' || queue === '')
        throw new InvalidOptionsError('[redis] queue name must be a non-empty string')
      rt = new QueueRuntime(queue, queueKeys(prefix, queue), shared)
      runtimes.set(queue, rt)
    }
    return rt
  }
  const keysOf = (queue: string): QueueKeys => runtime(queue).keys

  const ensureOpen = () => {
    if (state === 'closed' || state === 'destroyed') {
      throw new NotConnectedError(`[conveyor] [redis] broker is ${state}; create a new one`)
    }
  }

  /** One script call per queue per tick extends every lease this instance holds there. */
  /** Extend one queue's leases; tokens Redis no longer holds (taken back after a stall) stop counting. */
  const extendQueue = async (rt: QueueRuntime) => {
    const tokens = [...rt.held.keys()]
    for (let i = 0; i < tokens.length; i += CHUNK) {
      const chunk = tokens.slice(i, i + CHUNK)
      const sentAt = performance.now()
      const lost = (await shared.run('extend', [rt.keys.leases], [leaseMs, ...chunk])) as string[]
      for (const token of lost) {
        const held = rt.held.get(token)
        if (held === undefined) continue
        held.lost = 'lease lost'
        if (rt.held.delete(token)) held.holder.slotFreed()
      }
      for (const token of chunk) {
        const held = rt.held.get(token)
        if (held !== undefined && held.lost === undefined) held.leaseUntil = sentAt + leaseMs
      }
    }
  }

  /** One script call per queue per tick, all queues at once (on a cluster they are on different nodes). */
  const extendLeases = async () => {
    if (extending) return
    const busy = [...runtimes.values()].filter((rt) => rt.held.size > 0)
    if (busy.length === 0) return
    extending = true
    try {
      await Promise.all(busy.map(extendQueue))
      outage.recovered()
    } catch (error) {
      outage.failed(error)
    } finally {
      extending = false
    }
  }

  const startLeaseTimer = () => {
    if (leaseTimer !== undefined) return
    leaseTimer = setInterval(() => void extendLeases(), Math.max(10, Math.floor(leaseMs / 3)))
  }
  const stopLeaseTimer = () => {
    if (leaseTimer !== undefined) clearInterval(leaseTimer)
    leaseTimer = undefined
  }

  const capabilities: BrokerCapabilities = Object.freeze({
    delayedDelivery: 'native',
    priorityLevels: 10,
    deadLetter: 'emulated',
    deadLetterManagement: true,
    leaseExtension: true,
    deliveryCount: true,
    persistence: true,
    // Every script touches the keys of one queue only, all under one hash tag: tested on a 3-master cluster.
    clusterMode: true,
    maxMessageBytes,
    // Server-side due times (TIME), the consumer woken for the next due: late by a fetch or two (measured 5–100 ms,
    // up to ~350 ms on a machine loaded far beyond its cores); the bound leaves room for loaded CI machines.
    delayLateness: { fixedMs: 500, ratio: 0.02 },
  })

  /** The stored element, after the size check every publish makes before anything is written. */
  const checkSize = (element: string): string => {
    const bytes = utf8Length(element)
    if (bytes > maxMessageBytes) {
      throw new PayloadTooLargeError(
        `[conveyor] [redis] message of ${bytes} bytes exceeds maxMessageBytes ${maxMessageBytes}`,
      )
    }
    return element
  }
  /** What is left of a delay on this process's clock; Redis adds it to its own (publish-batch.lua). */
  const delayOf = (envelope: Envelope, now: number) =>
    envelope.notBefore !== undefined && envelope.notBefore > now ? envelope.notBefore - now : 0

  const broker: Broker = {
    // Same server and prefix; the broker's connection when the user gave one, a connection of its own otherwise.
    eventStream: (streamOptions) =>
      createRedisEventStream({
        ...connectionOf(options),
        prefix,
        logger: false,
        ...(streamOptions?.retention !== undefined ? { retention: streamOptions.retention } : {}),
      }),
    name: 'redis',
    capabilities,
    deadLetters: createDeadLetterStore(shared, keysOf),

    async connect() {
      ensureOpen()
      await ensureConnected(client)
    },

    async declare(spec: QueueSpec) {
      ensureOpen()
      if (spec.arguments && Object.keys(spec.arguments).length > 0) {
        throw new InvalidOptionsError(
          `[redis] queue "${spec.name}" takes no arguments, got ${Object.keys(spec.arguments).join(', ')}`,
        )
      }
      runtime(spec.name)
      // Redis creates the queue's keys on first write; the set only lets admin tools list queues without SCAN.
      await client.sadd(queuesKey(prefix), spec.name)
    },

    async publish(envelope: Envelope) {
      ensureOpen()
      assertEnvelope(envelope)
      const element = checkSize(encodeStored(envelope))
      await runtime(envelope.queue).publisher.add(element, envelope.priority, delayOf(envelope, Date.now()))
    },

    async publishMany(envelopes: readonly Envelope[]) {
      ensureOpen()
      // Everything is validated, encoded and size-checked first: a bad member rejects the batch with nothing written.
      const now = Date.now()
      const byQueue = new Map<string, (string | number)[]>()
      for (const envelope of envelopes) {
        assertEnvelope(envelope)
        const element = checkSize(encodeStored(envelope))
        runtime(envelope.queue)
        let args = byQueue.get(envelope.queue)
        if (args === undefined) {
          args = []
          byQueue.set(envelope.queue, args)
        }
        args.push(envelope.priority, delayOf(envelope, now), element)
      }
      await Promise.all([...byQueue].map(([queue, args]) => runtime(queue).publisher.addMany(args)))
    },

    async publishRaw(queue: string, body: string) {
      ensureOpen()
      await runtime(queue).publisher.add(checkSize(storeRaw(body)), 0, 0)
    },

    async consume(queue: string, handler: DeliveryHandler, consumeOptions: ConsumeOptions): Promise<Subscription> {
      ensureOpen()
      if (state === 'closing') throw new NotConnectedError('[conveyor] [redis] broker is closing')
      const prefetch = consumeOptions.prefetch
      if (!(Number.isInteger(prefetch) && prefetch >= 1)) {
        throw new InvalidOptionsError(`[redis] prefetch must be an integer ≥ 1, got ${prefetch}`)
      }
      const consumer = new Consumer(shared, runtime(queue), handler, { prefetch, maxBatch, maxBlockMs })
      consumers.add(consumer)
      startLeaseTimer()
      const subscription = consumer.start()
      return {
        queue,
        async cancel() {
          await subscription.cancel()
          consumers.delete(consumer)
        },
      }
    },

    async purge(queue: string) {
      ensureOpen()
      const k = keysOf(queue)
      return Number(await shared.run('purge', [...k.ready, k.delayed], []))
    },

    async listQueues() {
      ensureOpen()
      // Declared by any instance sharing the prefix; sorted so admin output is stable.
      return (await client.smembers(queuesKey(prefix))).sort()
    },

    async stats(queue: string): Promise<QueueStats> {
      ensureOpen()
      const k = keysOf(queue)
      const [ready, inFlight, delayed, dead, ...heads] = (await shared.run(
        'stats',
        [...k.ready, k.delayed, k.inflight, k.dead],
        [],
      )) as [number, number, number, number, ...(string | null)[]]
      // The oldest ready message is the earliest of the priority lists' heads (each list is FIFO).
      let oldestReadyAt: number | undefined
      for (const head of heads) {
        const at = typeof head === 'string' ? storedReadyAt(head) : undefined
        if (at !== undefined && (oldestReadyAt === undefined || at < oldestReadyAt)) oldestReadyAt = at
      }
      return { ready, inFlight, delayed, dead, ...(oldestReadyAt !== undefined ? { oldestReadyAt } : {}) }
    },

    async close(closeOptions: CloseOptions = {}) {
      if (state !== 'open') return
      state = 'closing'
      await Promise.all([...consumers].map((consumer) => consumer.cancel()))
      consumers.clear()
      const deadline = Date.now() + (closeOptions.timeoutMs ?? 0)
      const holding = () => [...runtimes.values()].some((rt) => rt.held.size > 0)
      while (holding() && Date.now() < deadline) await sleep(10)
      try {
        for (const rt of runtimes.values()) {
          await rt.releaseAll()
          await rt.drainAcks()
        }
      } finally {
        stopLeaseTimer()
        state = 'closed'
        if (owned) await closeClient(client)
        client.off('error', onError)
      }
    },

    async destroy() {
      if (state === 'destroyed') return
      state = 'destroyed'
      stopLeaseTimer()
      for (const consumer of consumers) consumer.kill()
      consumers.clear()
      for (const rt of runtimes.values()) rt.abandonAcks()
      if (owned) client.disconnect()
      client.off('error', onError)
    },
  }
  return broker
}
