import {
  type DeadLetter,
  type DeadLetterPage,
  type DeadLetterSelection,
  type DeadLetterStore,
  decodeEnvelope,
  type Envelope,
  encodeEnvelope,
  replayedEnvelope,
} from '@conveyor/core/adapter'
import type { Channel, GetMessage } from 'amqplib'
import type { Connection } from './connection'
import { MAX_RAW_KEPT } from './consumer'
import { DeadLetterLock } from './dead-letter-lock'
import { decodeDeadRecord, numberHeader, serverDeathReason } from './headers'
import type { ResolvedOptions } from './options'
import type { Sender } from './sender'
import type { Topology } from './topology'

/** Turn one message of `<queue>.dead` into a dead-letter record (ours, or one the server dead-lettered itself). */
export function decodeDeadLetterMessage(
  queue: string,
  message: GetMessage | { content: Buffer; properties: GetMessage['properties'] },
): DeadLetter {
  const headers = message.properties.headers
  const text = message.content.toString('utf8')
  let envelope: Envelope | undefined
  try {
    envelope = decodeEnvelope(text)
  } catch {
    envelope = undefined
  }
  const record = decodeDeadRecord(headers)
  if (record !== undefined) {
    const malformed = record.reason === 'malformed' || envelope === undefined
    return {
      id: record.id,
      queue,
      ...(malformed ? { raw: text.slice(0, MAX_RAW_KEPT) } : { envelope }),
      reason: record.reason,
      ...(record.error ? { error: record.error } : {}),
      attempts: record.attempts,
      deliveryCount: record.deliveryCount,
      createdAt: record.createdAt,
      deadAt: record.deadAt,
    }
  }
  // Dead-lettered by the server (quorum x-delivery-limit): the body is the message as it was on the work queue.
  const death = serverDeathReason(headers)
  return {
    id: envelope?.id ?? String(message.properties.messageId ?? 'unknown'),
    queue,
    ...(envelope ? { envelope } : { raw: text.slice(0, MAX_RAW_KEPT) }),
    reason: death.reason,
    attempts: envelope?.attempt ?? 0,
    deliveryCount: numberHeader(headers, 'x-conveyor-deliveries') + numberHeader(headers, 'x-delivery-count') + 1,
    createdAt: envelope?.createdAt ?? death.at,
    deadAt: death.at,
  }
}

interface Taken {
  readonly message: GetMessage
  readonly entry: DeadLetter
}

/**
 * What makes two dead letters copies of one run's death: the same id, attempt and enqueue time (two enqueues that
 * reuse an id stay apart). A malformed message has no run and is never collapsed (it cannot be replayed anyway).
 */
const runKey = (entry: DeadLetter): string | undefined =>
  entry.envelope === undefined
    ? undefined
    : `${entry.id}\u0000${entry.envelope.attempt}\u0000${entry.envelope.createdAt}`

/** Longest an operation waits for another process's list, replay or purge of the same dead letters. */
const LOCK_WAIT_MS = 60_000

/** What the dead-letter store works with: the broker's connection, queues and sender. */
interface DeadLetterDeps {
  readonly connection: Connection
  readonly topology: Topology
  readonly sender: Sender
  readonly options: ResolvedOptions
}

/** Runs `fn` on a private channel holding the queue's `.dead` lock (see `createDeadLetterStore`). */
type WithDeadQueue = <T>(queue: string, fn: (channel: Channel, dead: string) => Promise<T>) => Promise<T>

/**
 * `<queue>.dead` managed through AMQP: list, replay and purge take messages with `basic.get` on a private channel
 * (unacked, so nobody else sees them meanwhile), ack what they consume, and close the channel, which puts every
 * other message back in its place. A replayed message is acked only after its new copy on the work queue is
 * confirmed: never lost, at worst duplicated. Every operation (count too: a held message is not counted) holds the
 * queue's `DeadLetterLock`, so operations from several processes never see each other's held messages as gone.
 */
export function createDeadLetterStore(deps: DeadLetterDeps): DeadLetterStore {
  const { topology, sender } = deps
  const withDeadQueue = deadQueueRunner(deps)

  return {
    async list(queue: string, page: DeadLetterPage = {}): Promise<DeadLetter[]> {
      const offset = page.offset ?? 0
      const limit = page.limit ?? 100
      // A quorum queue puts returned messages behind those still returned earlier, not back in their place: taking
      // part of it would reorder it for the next page, so a quorum `.dead` is read whole and given back whole.
      const max = topology.deadIsQuorum(queue) ? Number.POSITIVE_INFINITY : offset + limit
      return withDeadQueue(queue, async (channel, dead) => {
        const taken = await take(channel, queue, dead, max)
        return taken.slice(offset, offset + limit).map(({ entry }) => entry)
      })
    },

    async replay(queue: string, selection: DeadLetterSelection = {}): Promise<number> {
      const wanted = selection.ids ? new Set(selection.ids) : undefined
      const limit = selection.limit ?? Number.POSITIVE_INFINITY
      return withDeadQueue(queue, async (channel, dead) => {
        const taken = await take(channel, queue, dead, Number.POSITIVE_INFINITY)
        let replayed = 0
        for (const { message, entry } of taken) {
          if (replayed >= limit) break
          if (entry.envelope === undefined || (wanted && !wanted.has(entry.id))) continue
          await replayOne(sender, queue, entry.envelope)
          channel.ack(message)
          replayed++
        }
        return replayed
      })
    },

    async purge(queue: string, ids?: readonly string[]): Promise<number> {
      if (ids === undefined) {
        return withDeadQueue(queue, async (channel, dead) => (await channel.purgeQueue(dead)).messageCount)
      }
      const drop = new Set(ids)
      return withDeadQueue(queue, async (channel, dead) => {
        const taken = await take(channel, queue, dead, Number.POSITIVE_INFINITY)
        let removed = 0
        for (const { message, entry } of taken) {
          if (!drop.has(entry.id)) continue
          channel.ack(message)
          removed++
        }
        return removed
      })
    },

    /** The queue's length: a copy left by a crash between dead letter and ack counts until a read collapses it. */
    async count(queue: string): Promise<number> {
      return withDeadQueue(queue, async (channel, dead) => (await channel.checkQueue(dead)).messageCount)
    },
  }
}

/** Operations on one queue's `.dead`, each on a private channel while holding that queue's lock. */
function deadQueueRunner({ connection, topology, options }: DeadLetterDeps): WithDeadQueue {
  const lock = new DeadLetterLock(connection, LOCK_WAIT_MS)
  return async (queue, fn) => {
    connection.assertUsable()
    await topology.ensure(queue)
    const dead = topology.names(queue).dead
    return lock.run(dead, async () => {
      const channel = await connection.channel(Date.now() + options.publishTimeoutMs)
      channel.on('error', () => {})
      try {
        return await fn(channel, dead)
      } finally {
        // What `fn` took and did not ack goes back in one ordered nack, before the lock lets the next operation
        // look: a quorum `.dead` queue would take the returns of a closing channel in no particular order, and
        // listing pages must stay oldest first.
        try {
          channel.nackAll(true)
        } catch {
          // The channel is already closed: the server returns what it held.
        }
        await channel.close().catch(() => {})
      }
    })
  }
}

/**
 * Take messages oldest first until `max` distinct runs are held, collapsing copies of one run: a worker that dies
 * after its dead letter was confirmed and before the original's ack was processed gets the original back and
 * dead-letters it again (the two steps cannot be one). The first copy is kept and the later ones are acked (removed)
 * as they are met, so a list shows the run once and a replay or purge moves it once.
 */
async function take(channel: Channel, queue: string, dead: string, max: number): Promise<Taken[]> {
  const taken: Taken[] = []
  const seen = new Set<string>()
  while (taken.length < max) {
    const message = await channel.get(dead, { noAck: false })
    if (message === false) break
    const entry = decodeDeadLetterMessage(queue, message)
    const run = runKey(entry)
    if (run !== undefined) {
      if (seen.has(run)) {
        channel.ack(message)
        continue
      }
      seen.add(run)
    }
    taken.push({ message, entry })
  }
  return taken
}

/** Publish a dead letter's envelope to the work queue again as a first attempt, due now; resolves once confirmed. */
async function replayOne(sender: Sender, queue: string, envelope: Envelope): Promise<void> {
  const fresh = replayedEnvelope(envelope, queue)
  await sender.body(queue, Buffer.from(encodeEnvelope(fresh), 'utf8'), {
    priority: fresh.priority,
    id: fresh.id,
    carried: 0,
  })
}
