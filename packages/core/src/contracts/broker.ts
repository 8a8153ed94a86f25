import type { BrokerCapabilities } from './capabilities'
import type { DeadLetterStore } from './dead-letter'
import type { DeliveryHandler } from './delivery'
import type { Envelope } from './envelope'
import type { EventStream, EventStreamOptions } from './event-stream'

/** What `Broker.declare` creates, idempotently, before a queue is used. */
export interface QueueSpec {
  readonly name: string
  /** Broker-specific queue flavour, e.g. RabbitMQ `classic` or `quorum`. Adapters document the values they accept. */
  readonly type?: string
  /** Adapter-specific arguments; unknown keys are rejected with `InvalidOptionsError`. */
  readonly arguments?: Readonly<Record<string, unknown>>
}

/** Options of `Broker.consume`. */
export interface ConsumeOptions {
  /** Most deliveries this subscription holds unsettled at once. At least 1. */
  readonly prefetch: number
}

/** A live consumer. */
export interface Subscription {
  readonly queue: string
  /**
   * Stop receiving new deliveries. Deliveries already handed out stay held (and their leases extended) until they
   * are settled or the broker closes.
   */
  cancel(): Promise<void>
}

/** Counts for one queue, read from the store. */
export interface QueueStats {
  /** Deliverable now. */
  readonly ready: number
  /**
   * Held by consumers, unsettled. Brokers that cannot count unacknowledged messages server-side (AMQP without the
   * management plugin) report what this instance holds; their docs say so.
   */
  readonly inFlight: number
  /** Waiting for their `notBefore` (delays and retry backoff). */
  readonly delayed: number
  /** In the dead-letter store. */
  readonly dead: number
  /**
   * Optional: when the oldest ready message was enqueued (its `createdAt`, or its `notBefore` when it was delayed),
   * epoch ms; undefined when nothing is ready or the broker cannot tell. Feeds the oldest-waiting-age gauge and
   * alerts. Adapters document what reading it costs.
   */
  readonly oldestReadyAt?: number
}

/** Options of `Broker.close`. */
export interface CloseOptions {
  /** How long to wait for in-flight deliveries to be settled before releasing them. Defaults to 0. */
  readonly timeoutMs?: number
}

/**
 * The contract every broker adapter implements. Core owns policy (retries, backoff, dead-letter decisions,
 * routing, timeouts); a broker moves messages reliably and says through `capabilities` what it does natively.
 */
export interface Broker {
  /** Short adapter name for logs and reports, e.g. `redis`. */
  readonly name: string
  readonly capabilities: BrokerCapabilities
  /** Open connections. Idempotent; other methods connect lazily when needed. */
  connect(): Promise<void>
  /**
   * Graceful close: stop consuming, wait up to `timeoutMs` for in-flight deliveries to be settled, release the rest
   * back to their queues, then disconnect. Publishing afterwards rejects with `NotConnectedError`.
   */
  close(options?: CloseOptions): Promise<void>
  /**
   * Stop at once as a crashed process would: nothing is settled, released or extended, connections are dropped.
   * The broker's crash recovery (lease expiry, channel close) must give the deliveries back. Used by tests and by
   * the supervisor's hard stop.
   */
  destroy(): Promise<void>
  /** Create the queue and whatever the adapter needs beside it (delay and dead-letter structures). Idempotent. */
  declare(spec: QueueSpec): Promise<void>
  /**
   * Put the envelope on `envelope.queue`. Resolves only once the broker holds it durably (Redis write acknowledged,
   * RabbitMQ publisher confirm). Honours `notBefore` (see `capabilities.delayedDelivery`) and `priority`.
   */
  publish(envelope: Envelope): Promise<void>
  /**
   * Optional: publish several envelopes (possibly for several queues) in as few round trips as the broker allows,
   * with `publish`'s guarantees for each. Resolves once the broker holds all of them; on rejection some may have
   * been published (a producer retrying gets at-least-once, as with `publish`). Core falls back to `publish` each.
   */
  publishMany?(envelopes: readonly Envelope[]): Promise<void>
  /**
   * Place an arbitrary body on the queue exactly as given, bypassing encoding. Exists so that the conformance suite
   * and interop producers can put foreign or malformed bytes on a queue; consumers dead-letter what they cannot
   * decode with reason `malformed`.
   */
  publishRaw(queue: string, body: string): Promise<void>
  /** Receive deliveries from `queue`, highest priority first, at most `prefetch` unsettled at once. */
  consume(queue: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<Subscription>
  /** Remove every ready and delayed message of `queue` (not in-flight ones, not dead letters). Resolves with the count. */
  purge(queue: string): Promise<number>
  stats(queue: string): Promise<QueueStats>
  /** Optional: the queues declared on this store (by any instance), for admin tools. Absent when the broker cannot list. */
  listQueues?(): Promise<string[]>
  readonly deadLetters: DeadLetterStore
  /**
   * Optional: a new handle on this broker's event stream (the app's cross-process events, see `EventStream`), built
   * from the broker's own connection settings and namespace. The app asks once; the caller closes what it gets.
   * Brokers without one leave it out: the app then keeps its events in process.
   */
  eventStream?(options?: EventStreamOptions): EventStream
}
