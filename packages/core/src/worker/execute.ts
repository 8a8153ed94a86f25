import type { DeadLetterReason, ErrorInfo } from '../contracts/dead-letter'
import type { Delivery } from '../contracts/delivery'
import { type Envelope, MAX_ATTEMPTS_HEADER } from '../contracts/envelope'
import type { JsonValue } from '../contracts/json'
import type { TaskRecord, TaskState } from '../contracts/result-backend'
import { toErrorInfo } from '../envelope/error-info'
import { ConveyorError } from '../errors/conveyor-error'
import { SerializationError } from '../errors/serialization-error'
import { TaskTimeoutError } from '../errors/task-timeout-error'
import { UnknownTaskError } from '../errors/unknown-task-error'
import type { Logger } from '../logging/logger'
import { decideRetry } from '../retry/policy'
import type { TaskContext } from '../task/task'
import { validateInput } from '../task/validate-input'
import { WorkflowEngine } from '../workflow/engine'
import type { Settled } from '../workflow/flow'
import type { BeforeRunVerdict, ExecutionHooks, ExecutionOutcome, RegisteredTask, WorkerRuntime } from './runtime'

type Outcome = Settled<unknown>

const UNKNOWN_TTL_MS = 86_400_000
const WORKFLOW_BACKOFF_MS = 1000

function revokedOutcome(envelope: Envelope): Outcome {
  const message = `task run ${envelope.id} was revoked`
  return { ok: false, state: 'revoked', error: { name: 'TaskRevokedError', message, code: 'CONVEYOR_TASK_REVOKED' } }
}

/**
 * One delivery being processed by a worker. Built for the hot path: no per-delivery closures, and the
 * AbortController and child logger are made only when something asks for them.
 */
export class Execution {
  /** Set when the worker gave the delivery back (graceful stop): the outcome is then not settled. */
  released = false
  /** Set once the outcome was handed to the broker (ack, retry, dead letter): nothing to give back any more. */
  settled = false
  /** Set when the run was revoked while running (`terminate`): it ends `revoked`, never retried. */
  terminated = false
  private controller: AbortController | undefined
  private abortReason: unknown
  private aborted = false
  /** Rejects the running handler's race when the attempt is aborted (timeout, hard stop). */
  interrupt: ((reason: unknown) => void) | undefined
  /**
   * Called once when the outcome is handed to the broker: the handler's work is over and only broker I/O remains,
   * so the worker can start the next handler while the broker confirms the settlement.
   */
  onSettling: (() => void) | undefined

  constructor(readonly delivery: Delivery) {}

  /** The handler's `ctx.signal`; made on first use, already aborted if the attempt was. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController()
      if (this.aborted) this.controller.abort(this.abortReason)
    }
    return this.controller.signal
  }

  abort(reason: unknown): void {
    if (this.aborted) return
    this.aborted = true
    this.abortReason = reason
    this.controller?.abort(reason)
    this.interrupt?.(reason)
  }
}

/** What a handler's `ctx` is: fields copied once, the logger and signal made lazily. */
class Context implements TaskContext {
  readonly id: string
  readonly task: string
  readonly queue: string
  readonly attempt: number
  readonly maxAttempts: number
  readonly deliveryCount: number

  constructor(
    private readonly run: Run,
    readonly envelope: Envelope,
  ) {
    this.id = envelope.id
    this.task = envelope.task
    this.queue = envelope.queue
    this.attempt = envelope.attempt
    this.maxAttempts = run.maxAttempts
    this.deliveryCount = run.execution.delivery.deliveryCount
  }

  get signal(): AbortSignal {
    return this.run.execution.signal
  }

  get logger(): Logger {
    return this.run.log()
  }

  progress(value: unknown): Promise<void> {
    return this.run.progress(value)
  }
}

/** Process one delivery to the end: run the handler, record the state, settle the delivery. Never throws. */
export function execute(
  runtime: WorkerRuntime,
  execution: Execution,
  hooks: ExecutionHooks = {},
): Promise<ExecutionOutcome> {
  return new Run(runtime, execution, hooks).execute()
}

class Run {
  readonly envelope: Envelope
  readonly task: RegisteredTask | undefined
  readonly started = Date.now()
  /** This run is a member of a workflow: the workflow store is asked before it runs and told when it ends. */
  readonly member: boolean
  /** The last `ctx.progress` value, carried into every later record of the run. */
  private lastProgress: JsonValue | undefined
  /** Attempts allowed: the task's settings here, unless the producer set a limit for this run. */
  readonly maxAttempts: number
  private child: Logger | undefined

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

  /** A child logger with the task's fields, made only when a line is written (most runs write none). */
  log(): Logger {
    const envelope = this.envelope
    this.child ??= this.runtime.logger.child({
      taskId: envelope.id,
      task: envelope.task,
      queue: envelope.queue,
      attempt: envelope.attempt,
    })
    return this.child
  }

  async execute(): Promise<ExecutionOutcome> {
    const { envelope, task, execution, runtime } = this
    const delivery = execution.delivery
    if (task === undefined || task.handler === undefined) {
      const error = new UnknownTaskError(envelope.task, unknownTaskMessage(envelope))
      return this.deadLetter('unknown-task', toErrorInfo(error))
    }
    const maxDeliveries = task.settings.maxDeliveries
    if (delivery.deliveryCount > maxDeliveries) {
      const message = `delivered ${delivery.deliveryCount} times without finishing (maxDeliveries ${maxDeliveries}): it crashes or outlives its worker`
      return this.deadLetter('max-deliveries', toErrorInfo(new ConveyorError('CONVEYOR_POISON_MESSAGE', message)))
    }
    if (envelope.attempt > this.maxAttempts) {
      // Only a foreign producer writes this (core never retries past the limit): it must not buy extra runs.
      const message = `attempt ${envelope.attempt} is past the ${this.maxAttempts} attempts allowed; not run`
      return this.deadLetter('max-attempts', toErrorInfo(new ConveyorError('CONVEYOR_ATTEMPTS_EXCEEDED', message)))
    }
    if (envelope.expiresAt !== undefined && envelope.expiresAt <= this.started) {
      const expired = { name: 'Error', message: 'expired before it started', code: 'CONVEYOR_TASK_EXPIRED' }
      if (this.member && !(await this.continueWorkflow({ ok: false, state: 'expired', error: expired })))
        return this.unsettled()
      if (!(await this.settle('ack'))) return this.unsettled()
      this.log().info('task expired before it started; not run')
      await this.record('expired', { finishedAt: Date.now() })
      runtime.events.emit('task.expired', this.eventBase())
      return 'expired'
    }

    let input: unknown = envelope.payload
    if (task.options.schema) {
      try {
        input = await validateInput(envelope.task, task.options.schema, envelope.payload)
      } catch (error) {
        return this.deadLetter('invalid-input', toErrorInfo(error))
      }
    }
    if (this.member) {
      const admission = await this.admit()
      if (admission !== 'run') return admission
    }
    if (this.hooks.beforeRun) {
      const verdict = await this.beforeRun()
      if (execution.released) return 'released'
      if (verdict === 'revoked') return this.revoked('task revoked; not run')
      // The attempt already failed elsewhere (e.g. its process was killed at the hard time limit): the retry
      // policy decides, exactly as if the handler had thrown this error.
      if (verdict !== 'run') return this.onFailure(verdict.fail)
    }

    if (runtime.results) await this.record('started')
    if (runtime.events.wants('task.started')) {
      // Built in one literal, `type` included, so the stream publisher takes it as is (the hot path: no spreads).
      runtime.events.emit('task.started', {
        type: 'task.started',
        id: envelope.id,
        task: envelope.task,
        queue: envelope.queue,
        attempt: envelope.attempt,
        at: Date.now(),
        worker: runtime.workerId,
        deliveryCount: delivery.deliveryCount,
        enqueuedAt: envelope.createdAt,
        ...(envelope.notBefore !== undefined ? { notBefore: envelope.notBefore } : {}),
      })
    }

    let result: unknown
    try {
      result = await this.runHandler(task, input)
    } catch (error) {
      if (execution.released) return 'released'
      if (execution.terminated) return this.revoked('task revoked while running (terminate); not retried')
      return this.onFailure(error)
    }
    if (execution.released) return 'released'
    const finishedAt = Date.now()
    if (runtime.results) {
      await this.record('succeeded', { ...(result !== undefined ? { result: result as JsonValue } : {}), finishedAt })
    }
    if (this.member && !(await this.continueWorkflow({ ok: true, value: result ?? null }))) return this.unsettled()
    if (!(await this.settle('ack'))) return this.unsettled()
    if (this.child !== undefined || runtime.logger.isLevelEnabled('debug')) {
      this.log().debug({ durationMs: finishedAt - this.started }, 'task succeeded')
    }
    if (runtime.events.wants('task.succeeded')) {
      const value = runtime.events.publishing ? runtime.events.valueText(result) : undefined
      runtime.events.emit('task.succeeded', {
        type: 'task.succeeded',
        id: envelope.id,
        task: envelope.task,
        queue: envelope.queue,
        attempt: envelope.attempt,
        at: Date.now(),
        worker: runtime.workerId,
        durationMs: finishedAt - this.started,
        result: value?.text,
        resultTruncated: value?.truncated === true ? true : undefined,
      })
    }
    return 'succeeded'
  }

  /**
   * A workflow member asks the workflow store first: a duplicate publish is dropped (acked, not recorded), a member
   * of a revoked workflow is acked and recorded `revoked`. One store round trip, only for workflow members.
   */
  private async admit(): Promise<ExecutionOutcome | 'run'> {
    const workflows = this.runtime.workflows!
    let admission: Awaited<ReturnType<WorkflowEngine['admit']>>
    try {
      admission = await workflows.admit(this.envelope)
    } catch (error) {
      return this.giveBackLater(error, 'could not ask the workflow store whether this member runs')
    }
    if (admission === 'run') return 'run'
    if (!(await this.settle('ack'))) return this.unsettled()
    if (admission === 'duplicate') {
      this.log().info('workflow continuation published twice; dropping this copy')
      return 'duplicate'
    }
    this.log().info('workflow revoked; member not run')
    await this.record('revoked', { finishedAt: Date.now() })
    this.runtime.events.emit('task.revoked', this.eventBase())
    return 'revoked'
  }

  /**
   * Count a workflow member that ended and publish what follows, before its delivery is settled: if this process
   * dies on the way, the member is redelivered and this runs again (counting is idempotent; a continuation
   * published twice is dropped by `admit`). False when the delivery was given back instead (store unreachable).
   */
  private async continueWorkflow(outcome: Outcome): Promise<boolean> {
    const workflows = this.runtime.workflows!
    try {
      await workflows.finish(this.envelope, outcome)
      return true
    } catch (error) {
      await this.giveBackLater(error, 'could not move the workflow on')
      return false
    }
  }

  /** Give the delivery back after a pause (not a retry: the attempt is not spent), so a store outage does not spin. */
  private async giveBackLater(error: unknown, what: string): Promise<ExecutionOutcome> {
    this.log().error({ err: error }, `${what}; giving the delivery back`)
    await new Promise((resolve) => setTimeout(resolve, WORKFLOW_BACKOFF_MS))
    if (this.execution.released) return 'released'
    this.execution.released = true
    await this.execution.delivery.release().catch(() => undefined)
    return 'released'
  }

  /** Ack, record and announce a revoked run (skipped, or stopped while running); its workflow moves on. */
  private async revoked(message: string): Promise<ExecutionOutcome> {
    if (this.member && !(await this.continueWorkflow(revokedOutcome(this.envelope)))) return this.unsettled()
    if (!(await this.settle('ack'))) return this.unsettled()
    this.log().info(message)
    await this.record('revoked', { finishedAt: Date.now() })
    this.runtime.events.emit('task.revoked', this.eventBase())
    return 'revoked'
  }

  private async beforeRun(): Promise<BeforeRunVerdict> {
    try {
      return await this.hooks.beforeRun!(this.envelope, this.execution.signal)
    } catch (error) {
      if (!this.execution.released) this.log().error({ err: error }, 'beforeRun hook failed; running the task anyway')
      return 'run'
    }
  }

  private runHandler(task: RegisteredTask, input: unknown): Promise<unknown> {
    const ctx = new Context(this, this.envelope)
    const timeoutMs = task.settings.timeoutMs
    const execution = this.execution
    return new Promise<unknown>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined
      execution.interrupt = reject
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => execution.abort(new TaskTimeoutError(this.envelope.task, timeoutMs)), timeoutMs)
      }
      const done = (settle: (value: unknown) => void) => (value: unknown) => {
        if (timer !== undefined) clearTimeout(timer)
        execution.interrupt = undefined
        settle(value)
      }
      try {
        Promise.resolve(task.handler!(input, ctx)).then(done(resolve), done(reject))
      } catch (error) {
        done(reject)(error)
      }
    })
  }

  private async onFailure(error: unknown): Promise<ExecutionOutcome> {
    const { envelope, runtime } = this
    const info = toErrorInfo(error)
    let decision: ReturnType<typeof decideRetry>
    try {
      decision = decideRetry(this.task!.settings.retry, error, envelope.attempt, this.maxAttempts)
    } catch (policyError) {
      // A throwing retryOn/backoff is a bug in the policy: do not loop on it, keep the message for a human.
      this.log().error({ err: policyError }, 'retry policy threw; dead-lettering the task')
      return this.deadLetter('unrecoverable', info)
    }
    switch (decision.kind) {
      case 'retry': {
        // Told before the message goes back: the next attempt's `task.started` (maybe from another process) must
        // not come before this in the stream. The barrier is bounded and skipped while the stream is down.
        if (runtime.events.wants('task.retried')) {
          runtime.events.emit('task.retried', {
            ...this.eventBase(),
            durationMs: Date.now() - this.started,
            delayMs: decision.delayMs,
            error: info,
          })
          if (runtime.events.publishing) await runtime.events.barrier()
        }
        if (!(await this.settle('retry', decision.delayMs))) return this.unsettled()
        this.log().warn({ err: error, delayMs: decision.delayMs }, `attempt ${envelope.attempt} failed; retrying`)
        await this.record('retrying', { error: info, retryAt: Date.now() + decision.delayMs })
        return 'retried'
      }
      case 'dead-letter':
        return this.deadLetter(decision.reason, info)
      case 'fail': {
        if (this.member && !(await this.continueWorkflow({ ok: false, state: 'failed', error: info })))
          return this.unsettled()
        if (!(await this.settle('ack'))) return this.unsettled()
        this.log().error({ err: error }, 'task failed')
        await this.record('failed', { error: info, finishedAt: Date.now() })
        runtime.events.emit('task.failed', {
          ...this.eventBase(),
          durationMs: Date.now() - this.started,
          error: info,
        })
        return 'failed'
      }
    }
  }

  private async deadLetter(reason: DeadLetterReason, error: ErrorInfo | undefined): Promise<ExecutionOutcome> {
    const failure = error ?? { name: 'Error', message: `dead-lettered (${reason})` }
    if (this.member && !(await this.continueWorkflow({ ok: false, state: 'dead-lettered', error: failure })))
      return this.unsettled()
    if (!(await this.settle('dead-letter', 0, reason, error))) return this.unsettled()
    this.log().error({ reason, error }, `task dead-lettered (${reason})`)
    await this.record('dead-lettered', { ...(error ? { error } : {}), finishedAt: Date.now() })
    this.runtime.events.emit('task.dead-lettered', {
      ...this.eventBase(),
      durationMs: Date.now() - this.started,
      reason,
      ...(error ? { error } : {}),
    })
    return 'dead-lettered'
  }

  /** Hand the outcome to the broker, unless the worker already gave the delivery back (shutdown). */
  private async settle(
    op: 'ack' | 'retry' | 'dead-letter',
    delayMs = 0,
    reason?: DeadLetterReason,
    error?: ErrorInfo,
  ): Promise<boolean> {
    const execution = this.execution
    if (execution.released) return false
    execution.settled = true
    execution.onSettling?.()
    const delivery = execution.delivery
    try {
      await (op === 'ack'
        ? delivery.ack()
        : op === 'retry'
          ? delivery.retry(delayMs)
          : delivery.deadLetter(reason ?? 'unrecoverable', error))
      return true
    } catch (failure) {
      this.log().warn({ err: failure }, `could not ${op} the delivery; the broker will deliver it again`)
      return false
    }
  }

  private unsettled(): ExecutionOutcome {
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

  private async record(state: TaskState, extra: Partial<TaskRecord> = {}): Promise<void> {
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

function unknownTaskMessage(envelope: Envelope): string {
  return `no task named "${envelope.task}" is implemented by the worker consuming "${envelope.queue}": implement it there (app.implement) or route it to a worker that has it`
}
