import type { JsonValue } from './json'

/**
 * The message every broker moves: one execution request for one task.
 *
 * Envelopes are serialized as JSON and never carry code. Adapters may store them in a more compact form, but what
 * a consumer receives must equal what the producer published, field for field (the conformance suite checks this).
 */
export interface Envelope {
  /** Unique id of the task run; stays the same across retries and redeliveries. */
  readonly id: string
  /** Registered task name, e.g. `email.send`. */
  readonly task: string
  /** The task input. */
  readonly payload: JsonValue
  /** Queue the message was routed to. */
  readonly queue: string
  /** 0–9 on every broker; higher runs first. */
  readonly priority: number
  /** 1 for the first execution, incremented by `Delivery.retry`, reset to 1 by a dead-letter replay. */
  readonly attempt: number
  /**
   * Attempts allowed before the message is dead-lettered, as the producer knew them. The worker's settings for the
   * task decide instead unless `headers[MAX_ATTEMPTS_HEADER]` says the producer set this limit for this run.
   */
  readonly maxAttempts: number
  /** Epoch milliseconds when the task was first enqueued. */
  readonly createdAt: number
  /** Epoch milliseconds before which the message must not be delivered (delay, countdown, ETA, retry backoff). */
  readonly notBefore?: number
  /** Epoch milliseconds after which the task must not run. */
  readonly expiresAt?: number
  /** The task run that enqueued this one, if any. */
  readonly parentId?: string
  /** The first task run of the chain this one belongs to. */
  readonly rootId?: string
  /** W3C trace context (`traceparent`, `tracestate`) propagated from the producer. */
  readonly trace?: Readonly<Record<string, string>>
  /** Free-form string headers; kept small (brokers limit header size). */
  readonly headers?: Readonly<Record<string, string>>
}

/** Priority bounds shared by every broker. */
export const MIN_PRIORITY = 0
export const MAX_PRIORITY = 9

/**
 * Header present when the producer set `maxAttempts` explicitly for this run (`enqueue(…, { maxAttempts })`): the
 * worker then honours `Envelope.maxAttempts` rather than its own settings for the task.
 */
export const MAX_ATTEMPTS_HEADER = 'x-conveyor-max-attempts'
