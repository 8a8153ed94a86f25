import { type DeliveryHandler, newTaskId, type Subscription, toErrorInfo } from '@conveyor/core'
import { decodeStored } from './codec'
import { closeClient, duplicateClient } from './connection'
import type { RedisClient } from './options'
import { type BrokerShared, CHUNK, type Holder, type QueueRuntime } from './runtime'

/** Longest raw body kept in a malformed dead letter. */
const MAX_RAW_KEPT = 64 * 1024
/** How long past its own timeout a BLPOP may stay unanswered before its connection is presumed dead. */
const BLOCK_GRACE_MS = 5_000
/** Most delayed or expired entries one fetch moves. */
const MOVE_LIMIT = 1000

export interface ConsumerSettings {
  readonly prefetch: number
  readonly maxBatch: number
  readonly maxBlockMs: number
}

type FetchReply = [number, string | number, string | number, (string | number)[], number[]]

/**
 * One subscription: a loop that fetches up to its free prefetch slots per script call and, when the queue is
 * drained, blocks on the queue's wake-up list on a connection of its own. Any error (connection killed, Redis
 * restarting) is reported once per outage and the loop carries on after a short backoff: it never stops consuming
 * by itself.
 */
export class Consumer implements Holder {
  private held = 0
  private running = true
  private waitingForSlot: (() => void) | undefined
  private blocker: RedisClient | undefined
  private blocked = false
  private unblock: (() => void) | undefined
  private loopDone: Promise<void> = Promise.resolve()

  constructor(
    private readonly shared: BrokerShared,
    private readonly runtime: QueueRuntime,
    private readonly handler: DeliveryHandler,
    private readonly settings: ConsumerSettings,
  ) {}

  start(): Subscription {
    this.loopDone = this.loop()
    return { queue: this.runtime.name, cancel: () => this.cancel() }
  }

  slotFreed(): void {
    this.held--
    const wake = this.waitingForSlot
    if (wake === undefined) return
    this.waitingForSlot = undefined
    // Everything settled: fetch now. Otherwise let the other handlers of this tick settle too, so the next fetch
    // takes several messages at once.
    if (this.held === 0) queueMicrotask(wake)
    else setImmediate(wake)
  }

  /** Stop fetching. Deliveries already handed out stay held until settled or the broker closes. */
  async cancel(): Promise<void> {
    if (!this.running) return this.loopDone
    this.running = false
    this.waitingForSlot?.()
    const wasBlocked = this.blocked
    this.unblock?.()
    if (this.blocker !== undefined) this.blocker.disconnect()
    await this.loopDone
    if (this.blocker !== undefined) await closeClient(this.blocker)
    // The aborted BLPOP may have taken the wake-up marker meant for another consumer: put one back.
    if (wasBlocked && this.shared.state() !== 'destroyed') {
      await this.shared.client.rpush(this.runtime.keys.wake, '1').catch(() => {})
    }
  }

  /** Crash: stop at once, hand nothing back. */
  kill(): void {
    this.running = false
    this.waitingForSlot?.()
    this.unblock?.()
    this.blocker?.disconnect()
  }

  private async loop(): Promise<void> {
    let backoff = 0
    while (this.running) {
      const free = this.settings.prefetch - this.held
      if (free <= 0) {
        await new Promise<void>((resolve) => {
          this.waitingForSlot = resolve
        })
        continue
      }
      const want = Math.min(free, this.settings.maxBatch)
      // Acks queued on this queue ride along: the script removes them before fetching.
      const acks = this.runtime.takeAcks(CHUNK)
      let reply: FetchReply
      try {
        const k = this.runtime.keys
        const fetched = this.shared.run(
          'fetch',
          [...k.ready, k.delayed, k.inflight, k.leases, k.wake, k.seq],
          [want, this.shared.leaseMs, MOVE_LIMIT, ...acks.map((ack) => ack.token)],
          'direct',
        ) as Promise<FetchReply>
        const answer = await withStallGuard(fetched, Math.max(30_000, 3 * this.shared.leaseMs))
        if (answer === STALLED) {
          // No answer at all for this long: a silently dead connection. Whatever that fetch took is reclaimed
          // after its lease; the broker replaces the connection when it owns it.
          const stalled = new Error('[conveyor] [redis] no answer from Redis; the ack may not have landed')
          this.runtime.settleAcks(acks, undefined, stalled)
          this.shared.stalled()
          continue
        }
        reply = answer
        this.runtime.settleAcks(acks, reply[4])
        this.shared.outage.recovered()
        backoff = 0
      } catch (error) {
        this.runtime.settleAcks(acks, undefined, error)
        if (!this.running) break
        this.shared.outage.failed(error)
        backoff = Math.min(backoff === 0 ? 50 : backoff * 2, 1000)
        await sleep(backoff)
        continue
      }
      const [now, nextDue, nextLease, items] = reply
      const got = items.length / 3
      if (!this.running) {
        // Fetched while being cancelled: hand back at once, uncounted (a destroyed broker hands back nothing).
        if (got > 0 && this.shared.state() !== 'destroyed') {
          const tokens = Array.from({ length: got }, (_, i) => String(items[3 * i]))
          await this.runtime.release(tokens).catch((error) => this.shared.outage.failed(error))
        }
        break
      }
      for (let i = 0; i < got; i++) {
        this.deliver(String(items[3 * i]), Number(items[3 * i + 1]), String(items[3 * i + 2]))
      }
      if (got < want) {
        const until = Math.min(
          nextDue === -1 ? Number.POSITIVE_INFINITY : Number(nextDue),
          nextLease === -1 ? Number.POSITIVE_INFINITY : Number(nextLease),
        )
        await this.block(Math.min(this.settings.maxBlockMs, Math.max(1, until - now + 1)))
      }
    }
  }

  private deliver(token: string, deliveryCount: number, body: string): void {
    const runtime = this.runtime
    let envelope: ReturnType<typeof decodeStored>
    try {
      envelope = decodeStored(body, runtime.name)
    } catch (error) {
      // Not an envelope: dead-letter it as malformed; the consumer keeps running.
      const now = Date.now()
      runtime
        .deadLetterToken(token, {
          id: newTaskId(),
          queue: runtime.name,
          raw: body.slice(0, MAX_RAW_KEPT),
          reason: 'malformed',
          error: toErrorInfo(error),
          attempts: 0,
          deliveryCount,
          createdAt: now,
          deadAt: now,
        })
        .catch((failure) => this.shared.outage.failed(failure))
      return
    }
    this.held++
    const delivery = runtime.hold(token, envelope, deliveryCount, this)
    try {
      this.handler(delivery)
    } catch {
      // A throwing handler must not break the loop; the delivery stays held until settled or reclaimed.
    }
  }

  /** Wait on the wake-up list until a publish, or until something delayed or leased may be due. */
  private async block(ms: number): Promise<void> {
    if (this.blocker === undefined) {
      this.blocker = duplicateClient(this.shared.client, `conveyor:${this.shared.prefix}:block`)
      // Errors surface through the rejected BLPOP; the listener keeps ioredis from printing them as unhandled.
      this.blocker.on('error', () => {})
    }
    const blocker = this.blocker
    this.blocked = true
    let guard: NodeJS.Timeout | undefined
    try {
      const read = blocker.blpop(this.runtime.keys.wake, (ms / 1000).toFixed(3))
      // A Cluster client does not fail a pending command when disconnected: cancel must not wait for it.
      read.catch(() => {})
      const stalled = new Promise<'stalled'>((resolve) => {
        // Redis answers a BLPOP by its timeout at the latest. No answer well after it means a silently dead
        // connection (half-open TCP): replace it rather than wait forever — a consumer never stops by itself.
        guard = setTimeout(() => resolve('stalled'), ms + BLOCK_GRACE_MS)
      })
      const outcome = await Promise.race([read, stalled, new Promise<void>((resolve) => (this.unblock = resolve))])
      if (outcome === 'stalled' && this.running) {
        this.shared.outage.failed(new Error(`[conveyor] [redis] BLPOP got no answer within ${ms + BLOCK_GRACE_MS} ms`))
        this.blocker = undefined
        blocker.disconnect()
      }
    } catch (error) {
      if (this.running) {
        this.shared.outage.failed(error)
        await sleep(100)
      }
    } finally {
      if (guard !== undefined) clearTimeout(guard)
      this.blocked = false
      this.unblock = undefined
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const STALLED = Symbol('stalled')

/** `promise`, or STALLED when it has not settled within `ms`. */
async function withStallGuard<T>(promise: Promise<T>, ms: number): Promise<T | typeof STALLED> {
  let timer: NodeJS.Timeout | undefined
  promise.catch(() => {})
  try {
    return await Promise.race([
      promise,
      new Promise<typeof STALLED>((resolve) => (timer = setTimeout(resolve, ms, STALLED))),
    ])
  } finally {
    clearTimeout(timer)
  }
}
