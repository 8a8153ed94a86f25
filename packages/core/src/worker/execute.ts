import type { DeadLetterReason, ErrorInfo } from '../contracts/dead-letter'
import type { Envelope } from '../contracts/envelope'
import type { ConveyorEvent } from '../contracts/event-stream'
import type { ProcessSpan, Tracing } from '../contracts/tracing'
import { toErrorInfo } from '../envelope/error-info'
import { ConveyorError } from '../errors/conveyor-error'
import { TaskTimeoutError } from '../errors/task-timeout-error'
import { UnknownTaskError } from '../errors/unknown-task-error'
import { validateInput } from '../task/validate-input'
import type { Execution } from './execution'
import { Run } from './run'
import { deadLetter, expire, fail, revoke, succeed } from './run-outcomes'
import { admitMember } from './run-workflow'
import type { BeforeRunVerdict, ExecutionHooks, ExecutionOutcome, RegisteredTask, WorkerRuntime } from './runtime'
import { Context } from './task-context'

/** Process one delivery to the end: run the handler, record the state, settle the delivery. Never throws. */
export function execute(
  runtime: WorkerRuntime,
  execution: Execution,
  hooks: ExecutionHooks = {},
): Promise<ExecutionOutcome> {
  const run = new Run(runtime, execution, hooks)
  return runtime.tracing === undefined ? runToEnd(run) : traced(run, runtime.tracing)
}

/**
 * The run inside its span: active while the handler runs (its enqueues and calls are the span's children), ended
 * with the outcome. A tracer that throws costs the run its span, never the run.
 */
function traced(run: Run, tracing: Tracing): Promise<ExecutionOutcome> {
  const { runtime, execution } = run
  let span: ProcessSpan
  try {
    span = tracing.process(run.envelope, {
      system: runtime.broker.name,
      deliveryCount: execution.delivery.deliveryCount,
      workerId: runtime.workerId,
    })
  } catch (error) {
    runtime.logger.warn({ err: error }, 'tracing.process threw; running the task without a span')
    return runToEnd(run)
  }
  run.span = span
  const end = (outcome: ExecutionOutcome) => {
    try {
      span.end({ outcome, ...run.failure })
    } catch (error) {
      runtime.logger.warn({ err: error }, 'a span failed to end')
    }
    return outcome
  }
  return span.activate(() => runToEnd(run)).then(end)
}

async function runToEnd(run: Run): Promise<ExecutionOutcome> {
  const { envelope, task, execution } = run
  if (task === undefined || task.handler === undefined) {
    const error = new UnknownTaskError(envelope.task, unknownTaskMessage(envelope))
    return deadLetter(run, 'unknown-task', toErrorInfo(error))
  }
  const refused = refusal(run, task)
  if (refused !== undefined) return deadLetter(run, refused.reason, refused.error)
  if (envelope.expiresAt !== undefined && envelope.expiresAt <= run.started) return expire(run)

  let input: unknown = envelope.payload
  if (task.options.schema) {
    try {
      input = await validateInput(envelope.task, task.options.schema, envelope.payload)
    } catch (error) {
      return deadLetter(run, 'invalid-input', toErrorInfo(error))
    }
  }
  if (run.member) {
    const admission = await admitMember(run)
    if (admission !== 'run') return admission
  }
  // After every wait on I/O before the handler: a stop may have given the delivery back meanwhile (hard stop, drain
  // deadline), and the message is then another worker's to run.
  if (execution.released) return 'released'
  if (run.hooks.beforeRun) {
    const verdict = await beforeRun(run)
    if (execution.released) return 'released'
    if (verdict === 'revoked') return revoke(run, 'task revoked; not run')
    // The attempt already failed elsewhere (e.g. its process was killed at the hard time limit): the retry
    // policy decides, exactly as if the handler had thrown this error.
    if (verdict !== 'run') return fail(run, verdict.fail)
  }

  if (run.runtime.results) {
    await run.record('started')
    if (execution.released) return 'released'
  }
  announceStarted(run)

  let result: unknown
  try {
    result = await runHandler(run, task, input)
  } catch (error) {
    if (execution.released) return 'released'
    if (execution.terminated) return revoke(run, 'task revoked while running (terminate); not retried')
    return fail(run, error)
  }
  if (execution.released) return 'released'
  return succeed(run, result)
}

/** Why a delivery must not run at all (delivered too often, or past its attempts), or undefined when it may. */
function refusal(run: Run, task: RegisteredTask): { reason: DeadLetterReason; error: ErrorInfo } | undefined {
  const { envelope } = run
  const deliveryCount = run.execution.delivery.deliveryCount
  const maxDeliveries = task.settings.maxDeliveries
  if (deliveryCount > maxDeliveries) {
    const message = `delivered ${deliveryCount} times without finishing (maxDeliveries ${maxDeliveries}): it crashes or outlives its worker`
    return { reason: 'max-deliveries', error: toErrorInfo(new ConveyorError('CONVEYOR_POISON_MESSAGE', message)) }
  }
  if (envelope.attempt > run.maxAttempts) {
    // Only a foreign producer writes this (core never retries past the limit): it must not buy extra runs.
    const message = `attempt ${envelope.attempt} is past the ${run.maxAttempts} attempts allowed; not run`
    return { reason: 'max-attempts', error: toErrorInfo(new ConveyorError('CONVEYOR_ATTEMPTS_EXCEEDED', message)) }
  }
  return undefined
}

type StartedEvent = Extract<ConveyorEvent, { type: 'task.started' }>

function announceStarted(run: Run): void {
  const { envelope, runtime } = run
  if (!runtime.events.wants('task.started')) return
  // Built in one literal, `type` included, so the stream publisher takes it as is (the hot path: no spread, which
  // copies property by property; `notBefore` is added only to a run that was held back).
  const event: { -readonly [K in keyof StartedEvent]: StartedEvent[K] } = {
    type: 'task.started',
    id: envelope.id,
    task: envelope.task,
    queue: envelope.queue,
    attempt: envelope.attempt,
    at: Date.now(),
    worker: runtime.workerId,
    deliveryCount: run.execution.delivery.deliveryCount,
    enqueuedAt: envelope.createdAt,
  }
  if (envelope.notBefore !== undefined) event.notBefore = envelope.notBefore
  runtime.events.emit('task.started', event)
}

async function beforeRun(run: Run): Promise<BeforeRunVerdict> {
  try {
    return await run.hooks.beforeRun!(run.envelope, run.execution.signal, run.execution.delivery)
  } catch (error) {
    if (!run.execution.released) run.log().error({ err: error }, 'beforeRun hook failed; running the task anyway')
    return 'run'
  }
}

/** Run the handler, racing it against the task's timeout and the execution's abort (`Execution.interrupt`). */
function runHandler(run: Run, task: RegisteredTask, input: unknown): Promise<unknown> {
  const ctx = new Context(run, run.envelope)
  const timeoutMs = task.settings.timeoutMs
  const execution = run.execution
  return new Promise<unknown>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined
    execution.interrupt = reject
    // Aborted before the handler was called (a terminate while the run was being admitted): it is not called.
    if (execution.abortedWith !== undefined) {
      execution.interrupt = undefined
      reject(execution.abortedWith.reason)
      return
    }
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => execution.abort(new TaskTimeoutError(run.envelope.task, timeoutMs)), timeoutMs)
    }
    // Inline callbacks, no closure factory: a named closure made per run also costs a `__name` call per run where
    // the sources run under tsx (the bench, the tests).
    try {
      execution.handler = Promise.resolve(task.handler!(input, ctx))
      execution.handler.then(
        (value) => {
          handlerEnded(execution, timer)
          resolve(value)
        },
        (error: unknown) => {
          handlerEnded(execution, timer)
          reject(error)
        },
      )
    } catch (error) {
      handlerEnded(execution, timer)
      reject(error)
    }
  })
}

/** The handler settled (or threw): its timeout and interrupt are done with. */
function handlerEnded(execution: Execution, timer: NodeJS.Timeout | undefined): void {
  if (timer !== undefined) clearTimeout(timer)
  execution.interrupt = undefined
  execution.handlerDone = true
}

function unknownTaskMessage(envelope: Envelope): string {
  return `no task named "${envelope.task}" is implemented by the worker consuming "${envelope.queue}": implement it there (app.implement) or route it to a worker that has it`
}
