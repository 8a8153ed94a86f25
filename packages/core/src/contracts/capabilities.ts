/**
 * What a broker does natively. Readonly flags on the adapter instance: the conformance suite reads them to choose
 * what to test, and the docs' capability matrix is generated from the same values. Claim only what is tested.
 */
export interface BrokerCapabilities {
  /**
   * How `Envelope.notBefore` is honoured: `native` (the broker holds the message until due), `emulated` (the adapter
   * holds it in the broker through another structure, e.g. TTL queues) or `none` (publishing a delayed message
   * rejects with `CONVEYOR_UNSUPPORTED`).
   */
  readonly delayedDelivery: 'native' | 'emulated' | 'none'
  /** Number of distinct priority levels honoured (10 for 0–9); 1 means priorities are ignored (FIFO). */
  readonly priorityLevels: number
  /** `native` when the broker routes dead letters itself (dead-letter exchange), `emulated` when the adapter does. */
  readonly deadLetter: 'native' | 'emulated'
  /** Whether dead letters can be listed, replayed and purged through the adapter. */
  readonly deadLetterManagement: boolean
  /** Whether a delivery's lease is extended while its handler runs (long tasks are never redelivered while alive). */
  readonly leaseExtension: boolean
  /** Whether `Delivery.deliveryCount` is tracked by the store and survives a consumer crash. */
  readonly deliveryCount: boolean
  /** Whether messages survive a broker restart. */
  readonly persistence: boolean
  /** Whether the adapter works against a clustered deployment (Redis Cluster, RabbitMQ cluster). */
  readonly clusterMode: boolean
  /** Largest encoded message accepted, in bytes; core rejects larger payloads before publishing. */
  readonly maxMessageBytes: number
  /**
   * Optional: how late a delayed message or a retry may reach a consumer with a free slot, as the adapter is
   * configured: at most `fixedMs + ratio × delay` after its `notBefore`. Never early is not negotiable. The
   * conformance suite holds the adapter to this bound over many delay lengths (`timing.*`); absent, it allows one
   * second flat.
   */
  readonly delayLateness?: DelayLateness
  /**
   * Optional: the broker itself dead-letters (reason `max-deliveries`) a message delivered more than this many times
   * in one attempt — even while every consumer that gets it dies or rejects it, and whatever the app's own
   * `maxDeliveries`. Absent: only core's worker enforces a limit. Claimed, it is held to `crash.delivery-limit`.
   */
  readonly deliveryLimit?: number
}

/** A bound on lateness relative to the delay: `fixedMs + ratio × delay` (e.g. 50 ms + 2 % of the delay). */
export interface DelayLateness {
  /** The part every delay may be late by, in milliseconds (timers, a round trip, a poll interval). */
  readonly fixedMs: number
  /** The part that grows with the delay (e.g. TTL hops), as a fraction of it. */
  readonly ratio: number
}

/** Conservative defaults for a third-party adapter that has not said otherwise. */
export const DEFAULT_CAPABILITIES: BrokerCapabilities = Object.freeze({
  delayedDelivery: 'none',
  priorityLevels: 1,
  deadLetter: 'emulated',
  deadLetterManagement: false,
  leaseExtension: false,
  deliveryCount: false,
  persistence: false,
  clusterMode: false,
  maxMessageBytes: 1024 * 1024,
})
