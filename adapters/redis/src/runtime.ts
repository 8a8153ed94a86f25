import { DeliverySettledError, NotConnectedError } from '@conveyor/core'
import {
  type DeadLetter,
  type DeadLetterReason,
  deadLetterJson,
  type Envelope,
  type ErrorInfo,
} from '@conveyor/core/adapter'
import { encodeStored } from './codec'
import { RedisDelivery } from './delivery'
import type { QueueKeys } from './keys'
import { QueuePublisher } from './publisher'
import type { BrokerShared, Holder } from './shared'

/** Largest number of tokens passed to one script call (Lua's unpack has a stack limit). */
export const CHUNK = 1000

export type { BrokerShared, Holder } from './shared'

/** An ack waiting to be sent: by the next fetch of a consumer of the queue, or by the end-of-tick flush. */
export interface PendingAck {
  readonly token: string
  readonly delivery: RedisDelivery
  readonly resolve: () => void
  readonly reject: (error: unknown) => void
}

/** What takeAcks hands out when nothing is queued: one shared empty list instead of a new one per fetch. */
const NO_ACKS: readonly PendingAck[] = Object.freeze([])

const settledError = () => new DeliverySettledError('[conveyor] [redis] the delivery was already settled')

/**
 * Why a delivery Redis no longer holds is gone, or undefined when it is gone because this very settlement landed.
 * Redis answers "not held" for a token it removed; when that answer comes while the lease was surely still running,
 * nobody can have taken the message back, so the settlement itself removed it: an earlier send of the same command
 * that ran although its reply was lost (ioredis sends unanswered commands again after reconnecting).
 */
function whyGone(delivery: RedisDelivery, op: string, leaseMs: number): DeliverySettledError | undefined {
  if (delivery.lost === undefined && performance.now() < delivery.leaseUntil) return undefined
  return new DeliverySettledError(
    delivery.lost === 'released at close'
      ? '[conveyor] [redis] the delivery was given back to the queue when the broker closed; it is delivered again'
      : `[conveyor] [redis] the lease (${leaseMs} ms) ran out before the ${op} reached Redis (it could not be ` +
          'extended: a blocked event loop or Redis out of reach); Redis took the message back and delivers it ' +
          'again, so this run may be repeated',
  )
}

/**
 * One queue as seen by one broker instance: its keys, the deliveries held on it (whose leases the broker extends),
 * and the acks waiting for the next flush — all acks of one tick go to Redis in one script call.
 */
export class QueueRuntime {
  readonly held = new Map<string, RedisDelivery>()
  /**
   * With durability: tokens whose confirmed ack is on its way. Their leases are still extended, because a confirmed
   * ack can wait behind other confirmed writes' WAITs for seconds (a new master without a replica); a lease that ran
   * out meanwhile gave the job to another worker, which ran it again.
   */
  readonly settling = new Set<string>()
  private pendingAcks: PendingAck[] = []
  private flushScheduled = false
  private flushing = new Set<Promise<void>>()
  readonly publisher: QueuePublisher

  constructor(
    readonly name: string,
    readonly keys: QueueKeys,
    private readonly shared: BrokerShared,
  ) {
    this.publisher = new QueuePublisher(keys, shared)
  }

  /** Record a fetched delivery as held by `holder` and build the `Delivery` handed to its handler. */
  hold(
    token: string,
    envelope: Envelope,
    deliveryCount: number,
    holder: Holder,
    body: string,
    fetchSentAt: number,
  ): RedisDelivery {
    const delivery = new RedisDelivery(token, envelope, deliveryCount, holder, this, body)
    delivery.leaseUntil = fetchSentAt + this.shared.leaseMs
    this.held.set(token, delivery)
    return delivery
  }

  ack(delivery: RedisDelivery): Promise<void> {
    try {
      this.take(delivery)
    } catch (error) {
      return Promise.reject(error)
    }
    return new Promise<void>((resolve, reject) => {
      this.pendingAcks.push({ token: delivery.token, delivery, resolve, reject })
      this.scheduleFlush()
    })
  }

  async retry(delivery: RedisDelivery, delayMs: number): Promise<void> {
    this.take(delivery)
    const { envelope } = delivery
    const notBefore = Date.now() + Math.max(0, delayMs)
    const next: Envelope = { ...envelope, attempt: envelope.attempt + 1, notBefore }
    const k = this.keys
    const ok = await this.shared.run(
      'retry',
      [k.inflight, k.leases, k.ready[next.priority]!, k.delayed, k.wake, k.seq],
      [delivery.token, encodeStored(next), next.priority, Math.max(0, delayMs)],
    )
    if (ok !== 1) this.throwIfGone(delivery, 'retry')
  }

  async deadLetter(delivery: RedisDelivery, reason: DeadLetterReason, error?: ErrorInfo): Promise<void> {
    this.take(delivery)
    const { envelope } = delivery
    const record: DeadLetter = {
      id: envelope.id,
      queue: this.name,
      envelope,
      reason,
      ...(error ? { error } : {}),
      attempts: envelope.attempt,
      deliveryCount: delivery.deliveryCount,
      createdAt: envelope.createdAt,
      deadAt: Date.now(),
    }
    if ((await this.deadLetterToken(delivery.token, record, delivery.body)) !== 1) {
      this.throwIfGone(delivery, 'dead-letter')
    }
  }

  async releaseOne(delivery: RedisDelivery): Promise<void> {
    this.take(delivery)
    const [ok] = await this.release([delivery.token])
    if (ok !== 1) this.throwIfGone(delivery, 'release')
  }

  /**
   * Move a held token into the dead-letter store (also used for malformed bodies). 1 when it was still held. A record
   * that cannot be encoded is stored with the fetched `body` instead of its envelope: the message leaves the queue.
   */
  deadLetterToken(token: string, record: DeadLetter, body: string): Promise<unknown> {
    const k = this.keys
    return this.shared.run(
      'dead-letter',
      [k.inflight, k.leases, k.dead, k.deadRecords, k.seq, k.deadReused],
      [
        token,
        record.id,
        deadLetterJson(record, body),
        record.envelope?.attempt ?? '',
        record.envelope?.createdAt ?? '',
      ],
    )
  }

  /** Give tokens back to the front of their lists without counting the delivery. 1/0 per token. */
  async release(tokens: readonly string[]): Promise<number[]> {
    const out: number[] = []
    const k = this.keys
    for (let i = 0; i < tokens.length; i += CHUNK) {
      const chunk = tokens.slice(i, i + CHUNK)
      const res = (await this.shared.run('release', [...k.ready, k.inflight, k.leases, k.wake], chunk)) as number[]
      out.push(...res)
    }
    return out
  }

  /** Release everything still held (graceful close); later settles of those deliveries reject. */
  async releaseAll(): Promise<void> {
    const tokens: string[] = []
    for (const held of this.held.values()) {
      held.settled = true
      held.lost = 'released at close'
      tokens.push(held.token)
    }
    this.held.clear()
    if (tokens.length > 0) await this.release(tokens)
  }

  /**
   * Hand up to `max` queued acks to a consumer's next fetch, which settles them in the same script call (one command
   * and one round trip per cycle); any beyond `max` are sent at once.
   */
  takeAcks(max: number): readonly PendingAck[] {
    if (this.pendingAcks.length === 0 || this.shared.durable) return NO_ACKS
    const taken = this.pendingAcks.splice(0, max)
    if (this.pendingAcks.length > 0) void this.flush()
    return taken
  }

  /** Settle acks a fetch carried: `results` holds 1 (removed) or 0 (no longer held) per ack; else it failed. */
  settleAcks(acks: readonly PendingAck[], results: readonly number[] | undefined, error?: unknown): void {
    // An index loop: `entries()` allocates an iterator and a pair per ack, on the path every job takes.
    for (let i = 0; i < acks.length; i++) {
      const ack = acks[i]!
      if (results === undefined) ack.reject(error)
      else this.settleAck(ack, results[i] === 1)
    }
  }

  /** An ack Redis answered: removed now, or already gone (`whyGone` tells whether that is a failure). */
  private settleAck(ack: PendingAck, removed: boolean): void {
    const failure = removed ? undefined : whyGone(ack.delivery, 'ack', this.shared.leaseMs)
    if (failure === undefined) ack.resolve()
    else ack.reject(failure)
  }

  private throwIfGone(delivery: RedisDelivery, op: string): void {
    const failure = whyGone(delivery, op, this.shared.leaseMs)
    if (failure !== undefined) throw failure
  }

  /** Wait for acks already queued to land. */
  async drainAcks(): Promise<void> {
    if (this.pendingAcks.length > 0) await this.flush()
    await Promise.allSettled([...this.flushing])
  }

  /** Reject queued acks (destroy): nothing more reaches Redis from this instance. */
  abandonAcks(): void {
    const pending = this.pendingAcks
    this.pendingAcks = []
    for (const ack of pending) ack.reject(new NotConnectedError('[conveyor] [redis] broker was destroyed'))
  }

  /** Mark a delivery settled locally and free its prefetch slot; throws when that cannot be. */
  private take(held: RedisDelivery): void {
    const state = this.shared.state()
    if (state === 'destroyed') {
      throw new NotConnectedError('[conveyor] [redis] broker was destroyed; the delivery is lost to it')
    }
    if (held.settled) throw held.lost === undefined ? settledError() : whyGone(held, 'settle', this.shared.leaseMs)!
    held.settled = true
    if (this.held.delete(held.token)) held.holder.slotFreed()
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return
    this.flushScheduled = true
    setImmediate(this.flushTick)
  }

  /** One function for every tick's flush rather than a closure per ack. */
  private readonly flushTick = (): void => {
    this.flushScheduled = false
    // Usually a consumer's fetch has carried them already.
    if (this.pendingAcks.length > 0) void this.flush()
  }

  private flush(): Promise<void> {
    const batch = this.pendingAcks
    this.pendingAcks = []
    const done = this.flushBatch(batch)
    this.flushing.add(done)
    void done.finally(() => this.flushing.delete(done))
    return done
  }

  private async flushBatch(batch: PendingAck[]): Promise<void> {
    const k = this.keys
    for (let i = 0; i < batch.length; i += CHUNK) {
      const chunk = batch.slice(i, i + CHUNK)
      const tokens = chunk.map((a) => a.token)
      const durable = this.shared.durable
      if (durable) for (const token of tokens) this.settling.add(token)
      try {
        const res = (await this.shared.run('ack', [k.inflight, k.leases], tokens)) as number[]
        for (const [j, ack] of chunk.entries()) this.settleAck(ack, res[j] === 1)
      } catch (error) {
        for (const ack of chunk) ack.reject(error)
      } finally {
        if (durable) for (const token of tokens) this.settling.delete(token)
      }
    }
  }
}
