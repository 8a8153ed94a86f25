import type { Envelope } from './envelope'

/** Why a message left the live queue for the dead-letter store. Adapters may add their own strings. */
export type DeadLetterReason =
  /** Retries were exhausted; `error` is the last one. */
  | 'max-attempts'
  /** The handler threw `UnrecoverableError` (or the task's retry decision said no). */
  | 'unrecoverable'
  /** The message was delivered `maxDeliveries` times without being settled: it kills its consumer (poison). */
  | 'max-deliveries'
  /** No handler for `Envelope.task` is registered in the worker that received it. */
  | 'unknown-task'
  /** The bytes on the queue are not a valid envelope. */
  | 'malformed'
  /** The task input failed its schema in the worker. */
  | 'invalid-input'
  | (string & {})

/** A serializable description of an error: what dead letters and results store. */
export interface ErrorInfo {
  readonly name: string
  readonly message: string
  readonly stack?: string
  /** The error's stable `code`, when it has one. */
  readonly code?: string
}

/** One entry of a queue's dead-letter store. */
export interface DeadLetter {
  /** The envelope id, or an id the adapter made up for a malformed message. */
  readonly id: string
  /** The live queue the message was dead-lettered from. */
  readonly queue: string
  /** The original envelope as it was when it was dead-lettered; absent when the message was malformed. */
  readonly envelope?: Envelope
  /** The undecodable body, for `malformed` messages (possibly truncated by the adapter to a documented size). */
  readonly raw?: string
  readonly reason: DeadLetterReason
  readonly error?: ErrorInfo
  /** The attempt that was running when the message was dead-lettered. */
  readonly attempts: number
  /** How many times the last attempt was delivered. */
  readonly deliveryCount: number
  /** Epoch milliseconds when the task was first enqueued (`Envelope.createdAt`). */
  readonly createdAt: number
  /** Epoch milliseconds when the message was dead-lettered. */
  readonly deadAt: number
}

/** Paging for `Broker.deadLetters.list`. Oldest first. */
export interface DeadLetterPage {
  readonly offset?: number
  /** Defaults to 100. */
  readonly limit?: number
}

/** Which dead letters `replay` puts back on the live queue. */
export interface DeadLetterSelection {
  /** Only these ids; all when absent. */
  readonly ids?: readonly string[]
  /** At most this many (oldest first). */
  readonly limit?: number
}

/**
 * A queue's dead-letter store, managed through the broker. One entry per run: a run dead-lettered again (its worker
 * died between the dead letter and the ack, and the redelivery was dead-lettered too) is listed, replayed and purged
 * once — whether the store refuses the copy or collapses copies when it reads them.
 */
export interface DeadLetterStore {
  /** Dead letters of `queue`, oldest first. */
  list(queue: string, page?: DeadLetterPage): Promise<DeadLetter[]>
  /**
   * Publish the selected dead letters back onto `queue` with `attempt` reset to 1 and no delay, removing them from
   * the store. Malformed entries are never replayed. Resolves with the number replayed. A message is never lost:
   * it is on the live queue or still in the store.
   */
  replay(queue: string, selection?: DeadLetterSelection): Promise<number>
  /** Remove dead letters of `queue` (only `ids` when given). Resolves with the number removed. */
  purge(queue: string, ids?: readonly string[]): Promise<number>
  /** Number of dead letters held for `queue`. */
  count(queue: string): Promise<number>
}
