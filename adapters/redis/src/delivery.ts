import type { DeadLetterReason, Delivery, Envelope, ErrorInfo } from '@conveyor/core/adapter'
import type { Holder } from './shared'

/** Who settles a delivery with Redis (the queue's runtime): a type here, so delivery.ts imports nothing back. */
export interface DeliverySettler {
  ack(delivery: RedisDelivery): Promise<void>
  retry(delivery: RedisDelivery, delayMs: number): Promise<void>
  deadLetter(delivery: RedisDelivery, reason: DeadLetterReason, error?: ErrorInfo): Promise<void>
  releaseOne(delivery: RedisDelivery): Promise<void>
}

/**
 * A delivery this broker instance holds in flight, identified by the token the fetch script gave it. One object
 * per message (no closures): it is also the entry the runtime keeps for lease extension.
 */
export class RedisDelivery implements Delivery {
  settled = false
  /** Why Redis may no longer hold it although nobody settled it here: given back at close, or its lease was lost. */
  lost: 'released at close' | 'lease lost' | undefined = undefined
  /**
   * Until when (`performance.now()`) Redis surely holds its lease: the send time of the last fetch or extension that
   * set it, plus the lease. Redis computes the deadline from its own clock when the command runs, which is after the
   * send, so no clock needs to agree with Redis's for this bound to hold.
   */
  leaseUntil = 0

  constructor(
    readonly token: string,
    readonly envelope: Envelope,
    readonly deliveryCount: number,
    readonly holder: Holder,
    private readonly runtime: DeliverySettler,
    /** The bytes as fetched: what a dead letter keeps when the envelope cannot be encoded again. */
    readonly body: string,
  ) {}

  ack(): Promise<void> {
    return this.runtime.ack(this)
  }

  retry(delayMs: number): Promise<void> {
    return this.runtime.retry(this, delayMs)
  }

  deadLetter(reason: DeadLetterReason, error?: ErrorInfo): Promise<void> {
    return this.runtime.deadLetter(this, reason, error)
  }

  release(): Promise<void> {
    return this.runtime.releaseOne(this)
  }
}
