import type { DeadLetterReason } from './dead-letter'
import type { Envelope } from './envelope'

/**
 * Distributed tracing plugged into an app: `createApp({ tracing })`. Core calls it when it publishes (producer side)
 * and around each delivery it processes (consumer side); the implementation makes the spans and moves the trace
 * context through `Envelope.trace`. `@conveyor/otel` implements it with OpenTelemetry; core itself depends on no
 * tracing library, and an app without `tracing` pays nothing for it.
 *
 * Every method is called on the hot path and must not throw: a tracer failure must never fail an enqueue or a run.
 */
export interface Tracing {
  /**
   * Envelopes are about to be published in one operation (one for `enqueue`, the batch of `enqueueMany`, a
   * workflow's members). Called synchronously before the publish, in the caller's context (so the span can be a
   * child of what the caller is doing); the returned span ends when the publish settled.
   */
  send(envelopes: readonly Envelope[], info: TracingInfo): SendSpan
  /** A delivery is about to be processed; the returned span ends when the worker is done with it. */
  process(envelope: Envelope, info: ProcessInfo): ProcessSpan
}

/** What every tracing call is told beside the envelopes. */
export interface TracingInfo {
  /** The broker's name (`Broker.name`: `redis`, `rabbitmq`, `memory`, …), for `messaging.system`. */
  readonly system: string
}

/** What `Tracing.process` is told about the delivery. */
export interface ProcessInfo extends TracingInfo {
  /** `Delivery.deliveryCount`: above 1 after a consumer crashed holding this attempt. */
  readonly deliveryCount: number
  /** The worker processing it (`Worker.id`). */
  readonly workerId: string | undefined
}

/** The span of one publish. */
export interface SendSpan {
  /**
   * The trace context to carry in the message (`Envelope.trace`: W3C `traceparent`, `tracestate`), the same for
   * every envelope of the operation; undefined to leave the envelopes as they are (nothing is recorded).
   */
  readonly trace: Readonly<Record<string, string>> | undefined
  /** The publish settled: without `error` the broker holds the messages, with it the publish failed. */
  end(error?: unknown): void
}

/** How a processed delivery ended, as a process span is told. */
export interface ProcessResult {
  /** `ExecutionOutcome`: `succeeded`, `retried`, `failed`, `dead-lettered`, `expired`, `revoked`, … */
  readonly outcome: string
  /** What failed the attempt (the handler's throw, a timeout), when it failed. */
  readonly error?: unknown
  /** With `dead-lettered`: why. */
  readonly deadLetterReason?: DeadLetterReason
  /** With `retried`: in how many milliseconds the next attempt is due. */
  readonly retryDelayMs?: number
}

/** The span of one delivery being processed. */
export interface ProcessSpan {
  /**
   * Run `fn` with this span as the active context: what the handler does (enqueues, HTTP calls, database queries)
   * is recorded as its children. Returns what `fn` returns.
   */
  activate<T>(fn: () => T): T
  /** Fields for the task's log lines (`ctx.logger`), e.g. `trace_id` and `span_id`; undefined for none. */
  logFields(): Readonly<Record<string, string>> | undefined
  end(result: ProcessResult): void
}
