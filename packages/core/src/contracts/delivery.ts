import type { DeadLetterReason, ErrorInfo } from './dead-letter'
import type { Envelope } from './envelope'

/**
 * One message handed to a consumer. Until it is settled (ack, retry, deadLetter or release) the consumer holds it:
 * nobody else receives it, and the adapter keeps its lease alive. If the consumer dies without settling, the broker
 * gives the message back (lease expiry, channel close) with `deliveryCount` incremented.
 *
 * Settling twice, or after the broker took the delivery back, rejects with `DeliverySettledError`.
 */
export interface Delivery {
  readonly envelope: Envelope
  /** Times this attempt was delivered, starting at 1. Survives consumer crashes; reset by `retry`. */
  readonly deliveryCount: number
  /** The handler finished: remove the message for good. Resolves once the broker recorded it. */
  ack(): Promise<void>
  /**
   * Schedule the next attempt: the message is removed from the consumer and published again with `attempt + 1`,
   * delivered not before `delayMs` from now. Atomic: the message is never both lost and never duplicated on the
   * broker side.
   */
  retry(delayMs: number): Promise<void>
  /** Move the message to its queue's dead-letter store with the reason and error. */
  deadLetter(reason: DeadLetterReason, error?: ErrorInfo): Promise<void>
  /**
   * Give the message back to its queue now without counting an attempt (graceful shutdown). It keeps its place
   * ahead of newer messages of the same priority where the broker allows.
   */
  release(): Promise<void>
}

/** What a consumer does with each delivery. The adapter does not await it; settling is explicit. */
export type DeliveryHandler = (delivery: Delivery) => void
