import type { UrlAdapter } from '../contracts/adapter'
import type { Broker } from '../contracts/broker'
import type { ResultBackend, TaskRecord } from '../contracts/result-backend'
import type { Tracing } from '../contracts/tracing'
import type { AppEventsOptions } from '../events/app-events'
import type { Logger } from '../logging/logger'
import type { TaskMetricsOptions } from '../metrics/task-metrics'
import type { CoordinationStore } from '../ops/coordination'
import type { RetryOptions } from '../retry/policy'
import type { Route } from '../routing/router'

/** Defaults for every task of the app; a task's own options win. */
export interface AppDefaults {
  /** Defaults to `default`. */
  readonly queue?: string
  /** Defaults to 0. */
  readonly priority?: number
  /** Defaults to 3 attempts, exponential backoff from 1 s to 5 min with full jitter, dead-lettering at the end. */
  readonly retry?: RetryOptions
  /** No time limit by default. */
  readonly timeoutMs?: number
  /** Defaults to 5. */
  readonly maxDeliveries?: number
  /** Defaults to 24 hours. */
  readonly resultTtlMs?: number
  /** How long an idempotency key drops repeated enqueues, counted from the first. Defaults to 24 hours. */
  readonly idempotencyTtlMs?: number
}

export interface AppOptions {
  /** A broker instance, or a URL (`memory://`, `redis://…`, `amqp://…`) resolved through `adapters`. */
  readonly broker: Broker | string
  /**
   * Where task states and results go: an instance, a URL resolved through `adapters`, or `false` for none.
   * Defaults to an in-process memory backend when the broker is the memory broker, to none otherwise.
   */
  readonly results?: ResultBackend | string | false
  /** URL adapters the app may resolve `broker` / `results` URLs with; `memory://` is built in. */
  readonly adapters?: readonly UrlAdapter[]
  /** Ordered routing rules; the first match wins. */
  readonly routes?: readonly Route[]
  /** A pino instance, or `false` for silence. Defaults to pino at `CONVEYOR_LOG_LEVEL` (default `info`). */
  readonly logger?: Logger | false
  readonly defaults?: AppDefaults
  /** Reject enqueues whose JSON input is larger than this many bytes (the broker's own limit always applies). */
  readonly maxPayloadBytes?: number
  /**
   * Where idempotency keys are claimed. Defaults to an in-process memory store, which drops duplicates within this
   * process only; pass a shared store (`createRedisCoordination` from `@conveyor/redis`) to drop them across every
   * process using it. The app does not close a store it was given (a scheduler or the CLI may share it).
   */
  readonly coordination?: CoordinationStore
  /**
   * Cross-process events and task history. By default the app publishes its task and worker events to the broker's
   * event stream and folds them into the result backend's history (batched in the background; never blocks or fails
   * a task). `false` publishes nothing (`app.events.subscribe` still reads the stream). See `AppEventsOptions`.
   */
  readonly events?: boolean | AppEventsOptions
  /**
   * Distributed tracing: a span per publish and per run, the trace context carried in the message. Pass
   * `openTelemetryTracing()` from `@conveyor/otel`. Off by default (and then free).
   */
  readonly tracing?: Tracing
  /**
   * Metrics tasks record through `ctx.metrics` (counters, gauges, histograms, declared here by name), exported by
   * `collectMetrics` beside Conveyor's own. See docs/observability.md.
   */
  readonly taskMetrics?: TaskMetricsOptions
}

/** Per-call options of `enqueue`. They override the task's options and the routes. */
export interface EnqueueOptions {
  /** Run no earlier than this many milliseconds from now. */
  readonly delayMs?: number
  /** Run no earlier than this time. */
  readonly runAt?: Date | number
  readonly priority?: number
  readonly queue?: string
  /** Do not run when not started within this many milliseconds. */
  readonly expiresInMs?: number
  /**
   * Attempts allowed for this run, overriding the task's `retry.maxAttempts` in the worker. Without it the worker's
   * own settings for the task decide, whatever this process knows about the task.
   */
  readonly maxAttempts?: number
  /** Use this id instead of a random one (a known correlation id); 1–200 characters. */
  readonly id?: string
  /**
   * Publish at most once per key and task within `idempotencyTtlMs`: a repeated enqueue publishes nothing and
   * resolves with a handle on the first job (`duplicate: true`). 1–255 characters, e.g. `order-42`.
   */
  readonly idempotencyKey?: string
  /** The window of `idempotencyKey`, counted from the first enqueue. Defaults to the task's, then the app's (24 h). */
  readonly idempotencyTtlMs?: number
  /** The task run that enqueues this one. */
  readonly parentId?: string
  readonly rootId?: string
  readonly headers?: Readonly<Record<string, string>>
  readonly trace?: Readonly<Record<string, string>>
}

/** Options of `enqueueMany`: one set for the batch, with idempotency keys per input. */
export interface EnqueueManyOptions<Input = unknown> extends Omit<EnqueueOptions, 'id' | 'idempotencyKey'> {
  /**
   * The idempotency key of each input (undefined for none), e.g. `(order) => order.ref`. An input whose key was
   * enqueued within the window, earlier in the same batch included, is not published again.
   */
  readonly idempotencyKey?: (input: Input, index: number) => string | undefined
}

/** Options of `JobHandle.result`. */
export interface ResultOptions {
  /** Defaults to 30 s. */
  readonly timeoutMs?: number
  readonly signal?: AbortSignal
}

/** A handle on one enqueued task run. */
export interface JobHandle<Output> {
  readonly id: string
  readonly task: string
  readonly queue: string
  /**
   * True when this enqueue carried an idempotency key that was already taken within its window: nothing was
   * published, and the handle follows the job that took the key (its id, its result).
   */
  readonly duplicate: boolean
  /** Resolves with the handler's return value; rejects with `TaskFailedError` when the run ended otherwise. */
  result(options?: ResultOptions): Promise<Output>
  /** The stored record (state, attempt, error…), or undefined while nothing was recorded yet. */
  record(): Promise<TaskRecord | undefined>
}
