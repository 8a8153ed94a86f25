import { sleep } from '../util/sleep'
import type { Settled } from '../workflow/flow'
import type { Run } from './run'
import type { ExecutionOutcome } from './runtime'

/** How long a workflow member waits before giving its delivery back when the workflow store cannot be reached. */
const WORKFLOW_BACKOFF_MS = 1000

/**
 * A workflow member asks the workflow store first: a duplicate publish is dropped (acked, not recorded), a member
 * of a revoked workflow is acked and recorded `revoked`. One store round trip, only for workflow members.
 */
export async function admitMember(run: Run): Promise<ExecutionOutcome | 'run'> {
  const workflows = run.runtime.workflows!
  let admission: Awaited<ReturnType<typeof workflows.admit>>
  try {
    admission = await workflows.admit(run.envelope)
  } catch (error) {
    return giveBackLater(run, error, 'could not ask the workflow store whether this member runs')
  }
  if (admission === 'run') return 'run'
  if (!(await run.settle('ack'))) return run.unsettled()
  if (admission === 'duplicate') {
    run.log().info('workflow continuation published twice; dropping this copy')
    return 'duplicate'
  }
  run.log().info('workflow revoked; member not run')
  await run.record('revoked', { finishedAt: Date.now() })
  run.runtime.events.emit('task.revoked', run.eventBase())
  return 'revoked'
}

/**
 * Count a workflow member that ended and publish what follows, before its delivery is settled: if this process
 * dies on the way, the member is redelivered and this runs again (counting is idempotent; a continuation
 * published twice is dropped by `admitMember`). False when the delivery was given back instead (store unreachable).
 * Callers check `run.member` first, so runs outside workflows pay no await for it.
 */
export async function continueWorkflow(run: Run, outcome: Settled<unknown>): Promise<boolean> {
  const workflows = run.runtime.workflows!
  try {
    await workflows.finish(run.envelope, outcome)
    return true
  } catch (error) {
    await giveBackLater(run, error, 'could not move the workflow on')
    return false
  }
}

/** Give the delivery back after a pause (not a retry: the attempt is not spent), so a store outage does not spin. */
async function giveBackLater(run: Run, error: unknown, what: string): Promise<ExecutionOutcome> {
  run.log().error({ err: error }, `${what}; giving the delivery back`)
  await sleep(WORKFLOW_BACKOFF_MS)
  const execution = run.execution
  if (execution.released) return 'released'
  execution.released = true
  await execution.delivery.release().catch(() => undefined)
  return 'released'
}
