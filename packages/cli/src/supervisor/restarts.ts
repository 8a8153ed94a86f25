import type { ChildProcess } from 'node:child_process'
import { restartDelay } from './backoff'
import { allExited, type Slot, type SupervisorState } from './state'

/** How a child process ended, as its `exit` event says. */
export interface ChildExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** What a child's exit may lead to. */
export interface ExitActions {
  /** Start a new child in the slot. */
  respawn(slot: Slot): void
  /** Every child is gone during a stop. */
  finishAll(): void
}

/**
 * A child exited: during a stop, note it (and finish once all have); a planned exit (recycling, a hard-limit kill)
 * is replaced at once; a crash or a failed start-up is replaced after a doubling backoff, reported loudly once it
 * keeps failing at start-up.
 */
export function handleChildExit(
  state: SupervisorState,
  slot: Slot,
  child: ChildProcess,
  { code, signal }: ChildExit,
  actions: ExitActions,
): void {
  if (slot.child !== child) return
  const { log, restart } = state
  slot.child = undefined
  slot.running.clear()
  state.metrics?.retire(slot.metrics)
  slot.metrics = undefined
  const wasReady = slot.readyAt !== undefined
  if (state.stopping) {
    slot.state = 'exited'
    log.info({ pool: slot.pool.name, pid: child.pid, code, signal }, 'worker process exited')
    if (allExited(state.slots)) actions.finishAll()
    return
  }
  slot.restarts++
  if (slot.recycling || slot.killedForLimit) {
    // Planned: replace at once, not a failure.
    actions.respawn(slot)
    return
  }
  slot.failures++
  const delay = restartDelay(restart, slot.failures)
  slot.state = 'backoff'
  const fields = { pool: slot.pool.name, pid: child.pid, code, signal, failures: slot.failures, retryInMs: delay }
  if (!wasReady) {
    const message = `worker process failed at start-up${slot.lastFatal ? `: ${slot.lastFatal}` : ''}`
    if (slot.failures >= restart.reportAfter) {
      log.error({ ...fields, error: slot.lastFatal }, `${message} (${slot.failures} times in a row); backing off`)
    } else log.warn({ ...fields, error: slot.lastFatal }, message)
  } else {
    log.error(fields, 'worker process died; restarting (its unfinished deliveries come back through the broker)')
  }
  slot.timer = setTimeout(() => actions.respawn(slot), delay)
}
