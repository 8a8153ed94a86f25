import type { DeadLetterReason, ErrorInfo } from '../contracts/dead-letter'
import type { Delivery } from '../contracts/delivery'
import type { Envelope } from '../contracts/envelope'
import type { JsonValue } from '../contracts/json'
import type { TaskRecord, TaskState } from '../contracts/result-backend'
import { toErrorInfo } from '../envelope/error-info'
import { ConveyorError } from '../errors/conveyor-error'
import { TaskTimeoutError } from '../errors/task-timeout-error'
import { UnknownTaskError } from '../errors/unknown-task-error'
import type { Logger } from '../logging/logger'
import { decideRetry } from '../retry/policy'
import type { TaskContext } from '../task/task'
import { validateInput } from '../task/validate-input'
import type { BeforeRunVerdict, ExecutionHooks, ExecutionOutcome, RegisteredTask, WorkerRuntime } from './runtime'

/** One delivery being processed by a worker. */
export interface Execution {
  readonly delivery: Delivery
  /** Aborted on timeout or hard stop; the handler sees it as `ctx.signal`. */
  readonly controller: AbortController
  /** Set when the worker gave the delivery back (graceful stop): the outcome is then not settled. */
  released: boolean
  /** Set once the outcome was handed to the broker (ack, retry, dead letter): nothing to give back any more. */
  settled: boolean
}

const UNKNOWN_TTL_MS = 86_400_000

/** Process one delivery to the end: run the handler, record the state, settle the delivery. Never throws. */
export async function execute(
  runtime: WorkerRuntime,
  execution: Execution,
  hooks: ExecutionHooks = {},
): Promise<ExecutionOutcome> {
  const { delivery } = execution
  const envelope = delivery.envelope
  const task = runtime.registry.get(envelope.task)
  const log = lazyLogger(runtime.logger, envelope)
  const started = Date.now()
  const ttl = task?.settings.resultTtlMs ?? UNKNOWN_TTL_MS

  const record = (state: TaskState, extra: Partial<TaskRecord> = {}) =>
    writeRecord(runtime, log, { ...base(envelope, state), startedAt: started, ...extra }, ttl)

  const settle = async (what: string, action: () => Promise<void>): Promise<boolean> => {
    if (execution.released) return false
    execution.settled = true
    try {
      await action()
      return true
    } catch (error) {
      log().warn({ err: error }, `could not ${what} the delivery; the broker will deliver it again`)
      return false
    }
  }

  const deadLetter = async (reason: DeadLetterReason, error: ErrorInfo | undefined): Promise<ExecutionOutcome> => {
    if (!(await settle('dead-letter', () => delivery.deadLetter(reason, error)))) return unsettled()
    log().error({ reason, error }, `task dead-lettered (${reason})`)
    await record('dead-lettered', { ...(error ? { error } : {}), finishedAt: Date.now() })
    runtime.events.emit('task.dead-lettered', {
      ...eventBase(envelope),
      durationMs: Date.now() - started,
      reason,
      ...(error ? { error } : {}),
    })
    return 'dead-lettered'
  }
  const unsettled = (): ExecutionOutcome => (execution.released ? 'released' : 'unsettled')

  if (task === undefined || task.handler === undefined) {
    return deadLetter('unknown-task', toErrorInfo(new UnknownTaskError(envelope.task, unknownTaskMessage(envelope))))
  }
  const maxDeliveries = task.settings.maxDeliveries
  if (delivery.deliveryCount > maxDeliveries) {
    const message = `delivered ${delivery.deliveryCount} times without finishing (maxDeliveries ${maxDeliveries}): it crashes or outlives its worker`
    return deadLetter('max-deliveries', toErrorInfo(new ConveyorError('CONVEYOR_POISON_MESSAGE', message)))
  }
  if (envelope.expiresAt !== undefined && envelope.expiresAt <= started) {
    if (!(await settle('ack', () => delivery.ack()))) return unsettled()
    log().info('task expired before it started; not run')
    await record('expired', { finishedAt: Date.now() })
    runtime.events.emit('task.expired', eventBase(envelope))
    return 'expired'
  }

  let input: unknown = envelope.payload
  if (task.options.schema) {
    try {
      input = await validateInput(envelope.task, task.options.schema, envelope.payload)
    } catch (error) {
      return deadLetter('invalid-input', toErrorInfo(error))
    }
  }
  if (hooks.beforeRun) {
    let verdict: BeforeRunVerdict
    try {
      verdict = await hooks.beforeRun(envelope, execution.controller.signal)
    } catch (error) {
      if (execution.released) return 'released'
      log().error({ err: error }, 'beforeRun hook failed; running the task anyway')
      verdict = 'run'
    }
    if (execution.released) return 'released'
    if (verdict === 'revoked') {
      if (!(await settle('ack', () => delivery.ack()))) return unsettled()
      log().info('task revoked; not run')
      await record('revoked', { finishedAt: Date.now() })
      runtime.events.emit('task.revoked', eventBase(envelope))
      return 'revoked'
    }
    if (verdict !== 'run') {
      // The attempt already failed elsewhere (e.g. its process was killed at the hard time limit): the retry
      // policy decides, exactly as if the handler had thrown this error.
      return onFailure(runtime, task, execution, verdict.fail, started, log, record, deadLetter, settle)
    }
  }

  await record('started')
  if (runtime.events.wants('task.started')) {
    runtime.events.emit('task.started', { ...eventBase(envelope), deliveryCount: delivery.deliveryCount })
  }

  let result: unknown
  try {
    result = await runHandler(task, input, execution, envelope, log)
  } catch (error) {
    if (execution.released) return 'released'
    return onFailure(runtime, task, execution, error, started, log, record, deadLetter, settle)
  }
  if (execution.released) return 'released'
  const finishedAt = Date.now()
  await record('succeeded', { ...(result !== undefined ? { result: result as JsonValue } : {}), finishedAt })
  if (!(await settle('ack', () => delivery.ack()))) return unsettled()
  if (log.made() || runtime.logger.isLevelEnabled('debug'))
    log().debug({ durationMs: finishedAt - started }, 'task succeeded')
  if (runtime.events.wants('task.succeeded')) {
    runtime.events.emit('task.succeeded', { ...eventBase(envelope), durationMs: finishedAt - started })
  }
  return 'succeeded'
}

async function onFailure(
  runtime: WorkerRuntime,
  task: RegisteredTask,
  execution: Execution,
  error: unknown,
  started: number,
  log: LazyLogger,
  record: (state: TaskState, extra?: Partial<TaskRecord>) => Promise<void>,
  deadLetter: (reason: DeadLetterReason, error: ErrorInfo | undefined) => Promise<ExecutionOutcome>,
  settle: (what: string, action: () => Promise<void>) => Promise<boolean>,
): Promise<ExecutionOutcome> {
  const unsettled = (): ExecutionOutcome => (execution.released ? 'released' : 'unsettled')
  const envelope = execution.delivery.envelope
  const info = toErrorInfo(error)
  let decision: ReturnType<typeof decideRetry>
  try {
    decision = decideRetry(task.settings.retry, error, envelope.attempt, envelope.maxAttempts)
  } catch (policyError) {
    // A throwing retryOn/backoff is a bug in the policy: do not loop on it, keep the message for a human.
    log().error({ err: policyError }, 'retry policy threw; dead-lettering the task')
    return deadLetter('unrecoverable', info)
  }
  switch (decision.kind) {
    case 'retry': {
      if (!(await settle('retry', () => execution.delivery.retry(decision.delayMs)))) return unsettled()
      log().warn({ err: error, delayMs: decision.delayMs }, `attempt ${envelope.attempt} failed; retrying`)
      await record('retrying', { error: info, retryAt: Date.now() + decision.delayMs })
      if (runtime.events.wants('task.retried')) {
        runtime.events.emit('task.retried', {
          ...eventBase(envelope),
          durationMs: Date.now() - started,
          delayMs: decision.delayMs,
          error: info,
        })
      }
      return 'retried'
    }
    case 'dead-letter':
      return deadLetter(decision.reason, info)
    case 'fail': {
      if (!(await settle('ack', () => execution.delivery.ack()))) return unsettled()
      log().error({ err: error }, 'task failed')
      await record('failed', { error: info, finishedAt: Date.now() })
      runtime.events.emit('task.failed', { ...eventBase(envelope), durationMs: Date.now() - started, error: info })
      return 'failed'
    }
  }
}

function runHandler(
  task: RegisteredTask,
  input: unknown,
  execution: Execution,
  envelope: Envelope,
  log: LazyLogger,
): Promise<unknown> {
  const { controller, delivery } = execution
  const ctx: TaskContext = {
    id: envelope.id,
    task: envelope.task,
    queue: envelope.queue,
    attempt: envelope.attempt,
    maxAttempts: envelope.maxAttempts,
    deliveryCount: delivery.deliveryCount,
    signal: controller.signal,
    get logger() {
      return log()
    },
    envelope,
  }
  const timeoutMs = task.settings.timeoutMs
  return new Promise<unknown>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined
    const onAbort = () => reject(controller.signal.reason)
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => controller.abort(new TaskTimeoutError(envelope.task, timeoutMs)), timeoutMs)
    }
    controller.signal.addEventListener('abort', onAbort, { once: true })
    Promise.resolve()
      .then(() => task.handler!(input, ctx))
      .then(resolve, reject)
      .finally(() => {
        if (timer !== undefined) clearTimeout(timer)
        controller.signal.removeEventListener('abort', onAbort)
      })
  })
}

async function writeRecord(runtime: WorkerRuntime, log: LazyLogger, record: TaskRecord, ttlMs: number) {
  if (!runtime.results) return
  try {
    await runtime.results.set(record, { ttlMs })
  } catch (error) {
    // The task's outcome stands; a lost status write is logged, not turned into a rerun of its side effects.
    log().error({ err: error, state: record.state }, 'could not store the task state')
  }
}

function base(envelope: Envelope, state: TaskState): TaskRecord {
  return {
    id: envelope.id,
    task: envelope.task,
    queue: envelope.queue,
    state,
    attempt: envelope.attempt,
    enqueuedAt: envelope.createdAt,
    updatedAt: Date.now(),
  }
}

function eventBase(envelope: Envelope) {
  return { id: envelope.id, task: envelope.task, queue: envelope.queue, attempt: envelope.attempt, at: Date.now() }
}

function unknownTaskMessage(envelope: Envelope): string {
  return `no task named "${envelope.task}" is implemented by the worker consuming "${envelope.queue}": implement it there (app.implement) or route it to a worker that has it`
}

interface LazyLogger {
  (): Logger
  made(): boolean
}

/** A child logger with the task's fields, made only when a line is written (most successful runs write none). */
function lazyLogger(parent: Logger, envelope: Envelope): LazyLogger {
  let child: Logger | undefined
  const get = (() => {
    child ??= parent.child({
      taskId: envelope.id,
      task: envelope.task,
      queue: envelope.queue,
      attempt: envelope.attempt,
    })
    return child
  }) as LazyLogger
  get.made = () => child !== undefined
  return get
}
