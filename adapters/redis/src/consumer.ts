import { type DeliveryHandler, newTaskId, type Subscription, sleep, toErrorInfo } from '@conveyor/core/adapter'
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
/** Fetches one consumer keeps in flight: one being handled while the next is on its way. */
const MAX_FETCHES = 2

export interface ConsumerSettings {
  readonly prefetch: number
  readonly maxBatch: number
  readonly maxBlockMs: number
}

type FetchReply = [number, string | number, string | number, (string | number)[], number[]]

/** A fetch awaiting its reply: when it was sent, and how to stop waiting for it. */
interface AwaitedFetch {
  readonly sentAt: number
  readonly giveUp: () => void
}

/**
 * One subscription: a loop that fetches free prefetch slots per script call and, when the queue is drained, blocks
 * on the queue's wake-up list on a connection of its own. Two fetches of up to half the slots each are in flight at
 * once, so the handlers of one half overlap the round trip (and the server's script time) of the other instead of
 * waiting for it: with one fetch of all slots per cycle the client sat idle for the whole round trip. Slots a fetch
 * asked for count against the prefetch until its reply arrives, so held plus requested never exceeds it. Any error
 * (connection killed, Redis restarting) is reported once per outage and the loop carries on after a short backoff:
 * it never stops consuming by itself.
 */
export class Consumer implements Holder {
  private held = 0
  /** Slots asked for by fetches still in flight. */
  private requested = 0
  /** Fetches in flight (at most MAX_FETCHES). */
  private fetching = 0
  private readonly inFlight = new Set<Promise<void>>()
  /** The last reply came back short: fetch nothing more until the queue is waited on. Holds how long to block. */
  private drainedFor: number | undefined
  private failed = false
  private backoff = 0
  private running = true
  private waiting: (() => void) | undefined
  private immediateArmed = false
  private blocker: RedisClient | undefined
  private blocked = false
  private unblock: (() => void) | undefined
  private loopDone: Promise<void> = Promise.resolve()
  /**
   * Most slots one fetch asks for (half the prefetch, at most maxBatch); also the free slots that justify a fetch
   * while another is in flight, so a prefetch many batches wide still fills with two fetches always out.
   */
  private readonly batch: number
  /** The fetch script's keys, built once rather than per call. */
  private readonly fetchKeys: readonly string[]
  /** No answer to a fetch for this long means a silently dead connection. */
  private readonly stallMs: number
  /**
   * Fetches awaiting a reply, oldest first. One watchdog timer for all of them, armed for the oldest, instead of a
   * timer and a race per fetch: those were about a tenth of the consumer's own CPU per fetch at concurrency 1.
   */
  private readonly awaited = new Set<AwaitedFetch>()
  private watchdog: NodeJS.Timeout | undefined

  constructor(
    private readonly shared: BrokerShared,
    private readonly runtime: QueueRuntime,
    private readonly handler: DeliveryHandler,
    private readonly settings: ConsumerSettings,
  ) {
    const k = runtime.keys
    this.fetchKeys = [...k.ready, k.delayed, k.inflight, k.leases, k.wake, k.seq]
    this.batch = Math.min(Math.max(1, Math.ceil(settings.prefetch / 2)), settings.maxBatch)
    this.stallMs = Math.max(30_000, 3 * shared.leaseMs)
  }

  start(): Subscription {
    this.loopDone = this.loop()
    return { queue: this.runtime.name, cancel: () => this.cancel() }
  }

  slotFreed(): void {
    this.held--
    if (this.waiting === undefined) return
    const free = this.settings.prefetch - this.held - this.requested
    if (this.held === 0 || free >= this.batch) {
      // Enough for a batch of its own. A microtask, so the ack that freed this slot is queued and rides along.
      queueMicrotask(this.wake)
    } else if (this.fetching === 0 && !this.immediateArmed) {
      // Let the other handlers of this tick settle too, so the next fetch takes several messages at once.
      this.immediateArmed = true
      setImmediate(this.wakeLater)
    }
    // Otherwise a fetch is in flight: its reply wakes the loop.
  }

  /** Stop fetching. Deliveries already handed out stay held until settled or the broker closes. */
  async cancel(): Promise<void> {
    if (!this.running) return this.loopDone
    this.running = false
    this.wake()
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
    this.wake()
    this.unblock?.()
    this.blocker?.disconnect()
  }

  private readonly wake = (): void => {
    const resolve = this.waiting
    this.waiting = undefined
    resolve?.()
  }

  private readonly wakeLater = (): void => {
    this.immediateArmed = false
    this.wake()
  }

  private async loop(): Promise<void> {
    while (this.running) {
      if (this.fetching === 0) {
        if (this.failed) {
          this.failed = false
          this.backoff = Math.min(this.backoff === 0 ? 50 : this.backoff * 2, 1000)
          await sleep(this.backoff)
          continue
        }
        if (this.drainedFor !== undefined) {
          const ms = this.drainedFor
          this.drainedFor = undefined
          await this.block(ms)
          continue
        }
      }
      const want = this.wanted()
      if (want > 0) {
        this.startFetch(want)
        continue
      }
      await new Promise<void>((resolve) => {
        this.waiting = resolve
      })
    }
    while (this.inFlight.size > 0) await Promise.all(this.inFlight)
    clearTimeout(this.watchdog)
    this.watchdog = undefined
  }

  /** How many messages to fetch now; 0 to wait for a slot or for a reply. */
  private wanted(): number {
    if (this.fetching >= MAX_FETCHES || this.failed || this.drainedFor !== undefined) return 0
    const free = this.settings.prefetch - this.held - this.requested
    if (free <= 0 || (this.fetching > 0 && free < this.batch)) return 0
    // Half the slots per fetch at most, so two fetches share them and one is handled while the other is fetched.
    return Math.min(free, this.batch)
  }

  private startFetch(want: number): void {
    this.fetching++
    this.requested += want
    const done = this.fetch(want)
      .catch((error: unknown) => {
        // Nobody awaits a fetch while the loop runs: a surprise (an unexpected reply) is reported, never unhandled.
        this.shared.outage.failed(error)
        this.failed = true
      })
      .finally(() => {
        this.inFlight.delete(done)
        this.wake()
      })
    this.inFlight.add(done)
  }

  /** One fetch script call: settles the acks it carries, hands out what it got, records whether the queue drained. */
  private async fetch(want: number): Promise<void> {
    let answer: { reply: FetchReply; sentAt: number } | undefined
    try {
      answer = await this.request(want)
    } finally {
      // Before any handler runs: from here the slots are counted as held (or free), no longer as requested.
      this.fetching--
      this.requested -= want
    }
    if (answer === undefined) return
    const [now, nextDue, nextLease, items] = answer.reply
    const got = items.length / 3
    if (!this.running) {
      // Fetched while being cancelled: hand back at once, uncounted (a destroyed broker hands back nothing).
      if (got > 0 && this.shared.state() !== 'destroyed') {
        const tokens = Array.from({ length: got }, (_, i) => String(items[3 * i]))
        await this.runtime.release(tokens).catch((error) => this.shared.outage.failed(error))
      }
      return
    }
    for (let i = 0; i < got; i++) {
      this.deliver(String(items[3 * i]), Number(items[3 * i + 1]), String(items[3 * i + 2]), answer.sentAt)
    }
    if (got < want) {
      // Replies come in the order the fetches ran, so the latest says whether the queue is drained now.
      const until = Math.min(
        nextDue === -1 ? Number.POSITIVE_INFINITY : Number(nextDue),
        nextLease === -1 ? Number.POSITIVE_INFINITY : Number(nextLease),
      )
      this.drainedFor = Math.min(this.settings.maxBlockMs, Math.max(1, until - now + 1))
    } else {
      this.drainedFor = undefined
    }
  }

  /** The script call itself, with the acks queued on this queue riding along. undefined when it failed or stalled. */
  private async request(want: number): Promise<{ reply: FetchReply; sentAt: number } | undefined> {
    const acks = this.runtime.takeAcks(CHUNK)
    try {
      const sentAt = performance.now()
      const args: (string | number)[] = [want, this.shared.leaseMs, MOVE_LIMIT]
      for (const ack of acks) args.push(ack.token)
      const fetched = this.shared.run('fetch', this.fetchKeys, args, 'direct') as Promise<FetchReply>
      const answer = await this.guarded(fetched, sentAt)
      if (answer === STALLED) {
        // No answer at all for this long: a silently dead connection. Whatever that fetch took is reclaimed
        // after its lease; the broker replaces the connection when it owns it.
        const stalled = new Error('[conveyor] [redis] no answer from Redis; the ack may not have landed')
        this.runtime.settleAcks(acks, undefined, stalled)
        this.shared.stalled()
        return undefined
      }
      this.runtime.settleAcks(acks, answer[4])
      this.shared.outage.recovered()
      this.backoff = 0
      return { reply: answer, sentAt }
    } catch (error) {
      this.runtime.settleAcks(acks, undefined, error)
      if (this.running) {
        this.shared.outage.failed(error)
        this.failed = true
        // Whatever the last reply said about the queue is stale after an outage: fetch again after the backoff.
        this.drainedFor = undefined
      }
      return undefined
    }
  }

  /** `fetched`, or STALLED when it has not settled within stallMs of `sentAt`. */
  private guarded(fetched: Promise<FetchReply>, sentAt: number): Promise<FetchReply | typeof STALLED> {
    return new Promise((resolve, reject) => {
      const entry: AwaitedFetch = { sentAt, giveUp: () => resolve(STALLED) }
      this.awaited.add(entry)
      fetched.then(
        (reply) => {
          this.awaited.delete(entry)
          resolve(reply)
        },
        (error: unknown) => {
          this.awaited.delete(entry)
          reject(error)
        },
      )
      this.armWatchdog()
    })
  }

  /**
   * Arm the watchdog for the oldest awaited fetch. It is not cleared when replies come (that would cost a timer per
   * fetch again): it fires, gives up on what stalled, and re-arms for the oldest left. Unreferenced, so it never
   * keeps a process alive by itself; a pending fetch keeps its connection, and so the process, alive anyway.
   */
  private armWatchdog(): void {
    if (this.watchdog !== undefined) return
    const oldest = this.awaited.values().next()
    if (oldest.done) return
    const wait = Math.max(0, oldest.value.sentAt + this.stallMs - performance.now())
    this.watchdog = setTimeout(this.checkStalls, wait).unref()
  }

  private readonly checkStalls = (): void => {
    this.watchdog = undefined
    const now = performance.now()
    for (const entry of this.awaited) {
      // Oldest first: the first one still within its time ends the sweep.
      if (now - entry.sentAt < this.stallMs) break
      this.awaited.delete(entry)
      entry.giveUp()
    }
    this.armWatchdog()
  }

  /** `fetchSentAt`: when the fetch that leased it was sent (its lease runs at least that long from then). */
  private deliver(token: string, deliveryCount: number, body: string, fetchSentAt: number): void {
    const runtime = this.runtime
    let envelope: ReturnType<typeof decodeStored>
    try {
      envelope = decodeStored(body, runtime.name)
    } catch (error) {
      // Not an envelope: dead-letter it as malformed; the consumer keeps running.
      const now = Date.now()
      runtime
        .deadLetterToken(
          token,
          {
            id: newTaskId(),
            queue: runtime.name,
            raw: body.slice(0, MAX_RAW_KEPT),
            reason: 'malformed',
            error: toErrorInfo(error),
            attempts: 0,
            deliveryCount,
            createdAt: now,
            deadAt: now,
          },
          body,
        )
        .catch((failure) => this.shared.outage.failed(failure))
      return
    }
    this.held++
    const delivery = runtime.hold(token, envelope, deliveryCount, this, body, fetchSentAt)
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

const STALLED = Symbol('stalled')
