import type { DeadLetterReason, ErrorInfo } from '../contracts/dead-letter'
import type { JsonValue } from '../contracts/json'
import { toErrorInfo } from '../envelope/error-info'
import { decideRetry } from '../retry/policy'
import type { Run } from './run'
import { continueWorkflow } from './run-workflow'
import type { ExecutionOutcome } from './runtime'

/** The handler returned: record the result, move its workflow on, ack, announce `task.succeeded`. */
export async function succeed(run: Run, result: unknown): Promise<ExecutionOutcome> {
  const { envelope, runtime } = run
  const finishedAt = Date.now()
  if (runtime.results) {
    await run.record('succeeded', { ...(result !== undefined ? { result: result as JsonValue } : {}), finishedAt })
  }
  if (run.member && !(await continueWorkflow(run, { ok: true, value: result ?? null }))) return run.unsettled()
  if (!(await run.settle('ack'))) return run.unsettled()
  if (run.logsDebug()) run.log().debug({ durationMs: finishedAt - run.started }, 'task succeeded')
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
      durationMs: finishedAt - run.started,
      result: value?.text,
      resultTruncated: value?.truncated === true ? true : undefined,
    })
  }
  return 'succeeded'
}

/** The run's `expiresAt` passed before it started: acked without running, recorded `expired`. */
export async function expire(run: Run): Promise<ExecutionOutcome> {
  const expired = { name: 'Error', message: 'expired before it started', code: 'CONVEYOR_TASK_EXPIRED' }
  if (run.member && !(await continueWorkflow(run, { ok: false, state: 'expired', error: expired })))
    return run.unsettled()
  if (!(await run.settle('ack'))) return run.unsettled()
  run.log().info('task expired before it started; not run')
  await run.record('expired', { finishedAt: Date.now() })
  run.runtime.events.emit('task.expired', run.eventBase())
  return 'expired'
}

/** Ack, record and announce a revoked run (skipped, or stopped while running); its workflow moves on. */
export async function revoke(run: Run, message: string): Promise<ExecutionOutcome> {
  if (run.member) {
    const error = {
      name: 'TaskRevokedError',
      message: `task run ${run.envelope.id} was revoked`,
      code: 'CONVEYOR_TASK_REVOKED',
    }
    if (!(await continueWorkflow(run, { ok: false, state: 'revoked', error }))) return run.unsettled()
  }
  if (!(await run.settle('ack'))) return run.unsettled()
  run.log().info(message)
  await run.record('revoked', { finishedAt: Date.now() })
  run.runtime.events.emit('task.revoked', run.eventBase())
  return 'revoked'
}

/** The attempt failed (the handler threw, or a hook failed it): the task's retry policy decides what follows. */
export async function fail(run: Run, error: unknown): Promise<ExecutionOutcome> {
  run.failure = { error }
  const info = toErrorInfo(error)
  let decision: ReturnType<typeof decideRetry>
  try {
    decision = decideRetry(run.task!.settings.retry, error, run.envelope.attempt, run.maxAttempts)
  } catch (policyError) {
    // A throwing retryOn/backoff is a bug in the policy: do not loop on it, keep the message for a human.
    run.log().error({ err: policyError }, 'retry policy threw; dead-lettering the task')
    return deadLetter(run, 'unrecoverable', info)
  }
  switch (decision.kind) {
    case 'retry':
      return retry(run, error, info, decision.delayMs)
    case 'dead-letter':
      return deadLetter(run, decision.reason, info)
    case 'fail':
      return failForGood(run, error, info)
  }
}

async function retry(run: Run, error: unknown, info: ErrorInfo, delayMs: number): Promise<ExecutionOutcome> {
  const events = run.runtime.events
  run.failure = { error, retryDelayMs: delayMs }
  // Told before the message goes back: the next attempt's `task.started` (maybe from another process) must
  // not come before this in the stream. The barrier is bounded and skipped while the stream is down.
  if (events.wants('task.retried')) {
    events.emit('task.retried', { ...run.eventBase(), durationMs: Date.now() - run.started, delayMs, error: info })
    if (events.publishing) await events.barrier()
  }
  // Recorded before the message goes back too: the next attempt may run at once, elsewhere, and its `succeeded` must
  // not be overwritten by this late `retrying` (then `result()` waits in vain).
  await run.record('retrying', { error: info, retryAt: Date.now() + delayMs })
  if (!(await run.settle('retry', { delayMs }))) return run.unsettled()
  run.log().warn({ err: error, delayMs }, `attempt ${run.envelope.attempt} failed; retrying`)
  return 'retried'
}

async function failForGood(run: Run, error: unknown, info: ErrorInfo): Promise<ExecutionOutcome> {
  run.failure = { error }
  if (run.member && !(await continueWorkflow(run, { ok: false, state: 'failed', error: info }))) return run.unsettled()
  if (!(await run.settle('ack'))) return run.unsettled()
  run.log().error({ err: error }, 'task failed')
  await run.record('failed', { error: info, finishedAt: Date.now() })
  run.runtime.events.emit('task.failed', { ...run.eventBase(), durationMs: Date.now() - run.started, error: info })
  return 'failed'
}

/** Hand the delivery to the broker's dead letters, record `dead-lettered`, announce it. */
export async function deadLetter(
  run: Run,
  reason: DeadLetterReason,
  error: ErrorInfo | undefined,
): Promise<ExecutionOutcome> {
  const failure = error ?? { name: 'Error', message: `dead-lettered (${reason})` }
  // The thrown error itself (when a failed attempt led here) tells the span more than its ErrorInfo.
  const cause = run.failure?.error ?? error
  run.failure = { ...(cause !== undefined ? { error: cause } : {}), deadLetterReason: reason }
  if (run.member && !(await continueWorkflow(run, { ok: false, state: 'dead-lettered', error: failure })))
    return run.unsettled()
  if (!(await run.settle('dead-letter', { reason, error }))) return run.unsettled()
  run.log().error({ reason, error }, `task dead-lettered (${reason})`)
  await run.record('dead-lettered', { ...(error ? { error } : {}), finishedAt: Date.now() })
  run.runtime.events.emit('task.dead-lettered', {
    ...run.eventBase(),
    durationMs: Date.now() - run.started,
    reason,
    ...(error ? { error } : {}),
  })
  return 'dead-lettered'
}
