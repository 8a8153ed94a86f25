import type { DeadLetterReason, ErrorInfo } from '../contracts/dead-letter'
import { type Envelope, MAX_ATTEMPTS_HEADER } from '../contracts/envelope'
import type { JsonValue } from '../contracts/json'
import type { TaskRecord, TaskState } from '../contracts/result-backend'
import type { ProcessResult, ProcessSpan } from '../contracts/tracing'
import { DeliverySettledError } from '../errors/delivery-settled-error'
import { SerializationError } from '../errors/serialization-error'
import type { Logger } from '../logging/logger'
import { WorkflowEngine } from '../workflow/engine'
import type { Execution } from './execution'
import type { ExecutionHooks, ExecutionOutcome, RegisteredTask, WorkerRuntime } from './runtime'

/** What a retry or a dead letter passes along with its settlement. */
export interface SettleDetails {
  /** `retry`: how long until the next attempt. Defaults to 0. */
  readonly delayMs?: number
  /** `dead-letter`: why. Defaults to `unrecoverable`. */
  readonly reason?: DeadLetterReason
  /** `dead-letter`: the last error, kept with the dead letter. */
  readonly error?: ErrorInfo
}

/** Shared by every `ack`: settling allocates nothing on the hot path. */
const NO_DETAILS: SettleDetails = Object.freeze({})

/** How long a record is kept for a task this worker does not know (no settings to read `resultTtlMs` from). */
const UNKNOWN_TTL_MS = 86_400_000

/**
 * The state of one delivery's run and the steps every outcome is made of: logging, recording the task's state,
 * settling with the broker, announcing events. What the run does with them is in execute.ts and run-outcomes.ts.
 */
export class Run {
  readonly envelope: Envelope
  readonly task: RegisteredTask | undefined
  readonly started = Date.now()
  /** This run is a member of a workflow: the workflow store is asked before it runs and told when it ends. */
  readonly member: boolean
  /** Attempts allowed: the task's settings here, unless the producer set a limit for this run. */
  readonly maxAttempts: number
  /** The last `ctx.progress` value, carried into every later record of the run. */
  private lastProgress: JsonValue | undefined
  private child: Logger | undefined
  /** The run's span when the app traces; its ids go into the task's log lines. */
  span: ProcessSpan | undefined
  /** Why the attempt failed, for the span: set by the outcomes that end in failure. */
  failure: Omit<ProcessResult, 'outcome'> | undefined

  constructor(
    readonly runtime: WorkerRuntime,
    readonly execution: Execution,
    readonly hooks: ExecutionHooks,
  ) {
    this.envelope = execution.delivery.envelope
    this.task = runtime.registry.get(this.envelope.task)
    // Checked once: runs outside workflows pay no await for them on the hot path.
    this.member = runtime.workflows !== undefined && WorkflowEngine.workflowOf(this.envelope) !== undefined
    const explicit = this.envelope.headers?.[MAX_ATTEMPTS_HEADER] !== undefined
    this.maxAttempts = explicit || this.task === undefined ? this.envelope.maxAttempts : this.task.settings.maxAttempts
  }

  /** The fields every event of this run carries. */
  eventBase() {
    const envelope = this.envelope
    const base = {
      id: envelope.id,
      task: envelope.task,
      queue: envelope.queue,
      attempt: envelope.attempt,
      at: Date.now(),
    }
    const worker = this.runtime.workerId
    return worker === undefined ? base : { ...base, worker }
  }

  /**
   * A child logger with the task's fields, its worker, and its `trace_id` and `span_id` when traced; made only when a
   * line is written (most runs write none).
   */
  log(): Logger {
    if (this.child !== undefined) return this.child
    const envelope = this.envelope
    const worker = this.runtime.workerId
    this.child = this.runtime.logger.child({
      taskId: envelope.id,
      task: envelope.task,
      queue: envelope.queue,
      attempt: envelope.attempt,
      ...(worker !== undefined ? { worker } : {}),
      ...this.span?.logFields(),
    })
    return this.child
  }

  /** Whether a debug line costs nothing extra: the child logger exists already, or debug is on anyway. */
  logsDebug(): boolean {
    return this.child !== undefined || this.runtime.logger.isLevelEnabled('debug')
  }

  /** Hand the outcome to the broker, unless the worker already gave the delivery back (shutdown). */
  async settle(op: 'ack' | 'retry' | 'dead-letter', details: SettleDetails = NO_DETAILS): Promise<boolean> {
    const execution = this.execution
    if (execution.released) return false
    execution.settled = true
    execution.onSettling?.()
    const delivery = execution.delivery
    try {
      await (op === 'ack'
        ? delivery.ack()
        : op === 'retry'
          ? delivery.retry(details.delayMs ?? 0)
          : delivery.deadLetter(details.reason ?? 'unrecoverable', details.error))
      return true
    } catch (failure) {
      // The adapter's error says what became of the message (requeued, taken back after a lost lease, released at
      // close); a settlement whose outcome is unknown (the connection dropped) is delivered again only if it did not land.
      const why = failure instanceof DeliverySettledError ? '' : '; unless it landed, the broker delivers it again'
      this.log().warn({ err: failure }, `could not ${op} the delivery: ${(failure as Error)?.message ?? failure}${why}`)
      return false
    }
  }

  /** The outcome of a run whose settlement did not happen: given back (shutdown) or left to the broker. */
  unsettled(): ExecutionOutcome {
    return this.execution.released ? 'released' : 'unsettled'
  }

  /** `ctx.progress`: kept in the run's record (this and later writes) and announced as `task.progress`. */
  async progress(value: unknown): Promise<void> {
    let progress: JsonValue
    try {
      progress = JSON.parse(JSON.stringify(value ?? null)) as JsonValue
    } catch (error) {
      throw new SerializationError(`ctx.progress of "${this.envelope.task}": the value is not JSON (${error})`)
    }
    // A late report from a handler that already returned must not turn a finished record back into `started`.
    if (this.execution.settled || this.execution.released) return
    this.lastProgress = progress
    await this.record('started')
    if (this.runtime.events.wants('task.progress')) {
      this.runtime.events.emit('task.progress', { ...this.eventBase(), progress })
    }
  }

  /** Store the run's state in the result backend (if any); a failed write is logged, never thrown. */
  async record(state: TaskState, extra: Partial<TaskRecord> = {}): Promise<void> {
    const results = this.runtime.results
    if (!results) return
    const envelope = this.envelope
    const record: TaskRecord = {
      id: envelope.id,
      task: envelope.task,
      queue: envelope.queue,
      state,
      attempt: envelope.attempt,
      enqueuedAt: envelope.createdAt,
      startedAt: this.started,
      updatedAt: Date.now(),
      ...(this.lastProgress !== undefined ? { progress: this.lastProgress } : {}),
      ...extra,
    }
    try {
      await results.set(record, { ttlMs: this.task?.settings.resultTtlMs ?? UNKNOWN_TTL_MS, envelope })
    } catch (error) {
      // The task's outcome stands; a lost status write is logged, not turned into a rerun of its side effects.
      this.log().error({ err: error, state }, 'could not store the task state')
    }
  }
}
