import type { Envelope } from '../contracts/envelope'
import type { JsonValue } from '../contracts/json'
import type { Logger } from '../logging/logger'
import type { TaskMetrics } from '../metrics/task-metrics'
import type { RetryOptions } from '../retry/policy'
import { bound, type Flow, type StepOptions } from '../workflow/flow'
import type { StandardSchemaV1 } from './standard-schema'

/** Options of a task, given where it is declared. Enqueue options override them per call. */
export interface TaskOptions<Input = unknown> {
  /** Queue to publish to; otherwise the app's routes decide, then `defaults.queue`. */
  readonly queue?: string
  /** 0–9, higher runs first. */
  readonly priority?: number
  readonly retry?: RetryOptions
  /** Time limit of one attempt: the handler's `signal` aborts with `TaskTimeoutError` and the attempt fails. */
  readonly timeoutMs?: number
  /**
   * Hard time limit of one attempt, for handlers that ignore their signal or block the event loop. Enforced by the
   * supervised `conveyor worker`: the process running the attempt is replaced, and the attempt fails with
   * `TaskTimeoutError` (the retry policy decides). Plain `app.worker()` only reads it.
   */
  readonly hardTimeoutMs?: number
  /** Deliveries of one attempt (crashes of its worker) before it is dead-lettered as poison. */
  readonly maxDeliveries?: number
  /** Tasks not started this long after enqueue are not run and are recorded `expired`. */
  readonly expiresInMs?: number
  /** How long the result record is kept. */
  readonly resultTtlMs?: number
  /** How long an enqueue's `idempotencyKey` drops repeats of this task, counted from the first enqueue. */
  readonly idempotencyTtlMs?: number
  /** Validates (and may transform) the input on enqueue and again in the worker. */
  readonly schema?: StandardSchemaV1<unknown, Input>
}

/** What a handler receives beside its input. */
export interface TaskContext {
  readonly id: string
  readonly task: string
  readonly queue: string
  /** 1 for the first run. */
  readonly attempt: number
  readonly maxAttempts: number
  /** Times this attempt was delivered (> 1 after a worker crash). */
  readonly deliveryCount: number
  /** Aborted when the time limit passes or the worker stops hard; pass it to fetch, streams, timers. */
  readonly signal: AbortSignal
  /** A child logger carrying the task id, name, queue and attempt. */
  readonly logger: Logger
  readonly envelope: Envelope
  /**
   * Report progress, e.g. `{ done: 3, total: 10 }`: stored in the run's record (`job.record().progress`, kept in the
   * later states) and published as a `task.progress` event. Each call writes the record: report at a human pace
   * (a few a second at most), not per item. Throws `SerializationError` when the value is not JSON.
   */
  progress(value: JsonValue): Promise<void>
  /**
   * Record the app's declared metrics (`createApp({ taskMetrics })`) with this task as their `task` label:
   * `ctx.metrics.counter('emails_sent_total').inc({ provider: 'ses' })`, `ctx.metrics.histogram('render_seconds')
   * .startTimer()`. Exported by `collectMetrics` beside Conveyor's metrics.
   */
  readonly metrics: TaskMetrics
}

export type TaskHandler<Input, Output> = (input: Input, ctx: TaskContext) => Output | Promise<Output>

/**
 * A task's signature: its name, types and options, without its implementation. Declare it in a module both the
 * producer and the worker import; implement it only in the worker's (`app.implement`).
 */
export interface TaskDeclaration<Input = unknown, Output = unknown> {
  readonly name: string
  readonly options: TaskOptions<Input>
  /** Phantom field carrying the types; never set. */
  readonly types?: { readonly input: Input; readonly output: Output }
}

/** A declared task signature that can also be bound to an input as a workflow step. */
export interface DeclaredTask<Input, Output> extends TaskDeclaration<Input, Output> {
  /** This task with its input, as a workflow step: `chain(resize.with(img), upload)`. */
  with(input: Input, options?: StepOptions): Flow<unknown, Output>
}

/** Declare a task signature: `declareTask<Email, { id: string }>('email.send', { queue: 'emails' })`. */
export function declareTask<Input = unknown, Output = unknown>(
  name: string,
  options: TaskOptions<Input> = {},
): DeclaredTask<Input, Output> {
  const declaration: DeclaredTask<Input, Output> = Object.freeze({
    name,
    options,
    with: (input: Input, stepOptions?: StepOptions) => bound(declaration, input, stepOptions),
  })
  return declaration
}

export type InputOf<T> = T extends TaskDeclaration<infer I, unknown> ? I : never
export type OutputOf<T> = T extends TaskDeclaration<unknown, infer O> ? O : never
