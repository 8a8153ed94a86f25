import type { ChildProcess } from 'node:child_process'
import type { ChildMessage } from './messages'
import type { Slot, SupervisorState } from './state'

/** What a child reports over IPC (ready, each run's start and end, counters, recycling, a fatal start-up). */
export function handleChildMessage(
  state: SupervisorState,
  slot: Slot,
  child: ChildProcess,
  message: ChildMessage,
): void {
  if (slot.child !== child) return
  switch (message.type) {
    case 'ready': {
      slot.state = state.stopping ? 'stopping' : 'ready'
      slot.readyAt = Date.now()
      state.log.info(
        { pool: slot.pool.name, pid: child.pid, worker: message.workerId, queues: message.queues },
        'worker ready',
      )
      // Healthy for long enough: forget earlier failures, so a later crash starts from the shortest backoff.
      setTimeout(() => {
        if (slot.child === child && slot.state === 'ready') slot.failures = 0
      }, state.restart.stableMs).unref()
      break
    }
    case 'task-start':
      if (message.ended !== undefined) ended(slot, message.ended)
      slot.running.set(message.id, {
        task: message.task,
        attempt: message.attempt,
        startedAt: Date.now(),
        ...(message.hardLimitMs !== undefined ? { hardLimitMs: message.hardLimitMs } : {}),
      })
      break
    case 'task-end':
      slot.running.delete(message.id)
      slot.processed++
      break
    case 'task-ends':
      ended(slot, message.ids)
      break
    case 'stats':
      slot.rssBytes = message.rssBytes
      if (message.metrics) slot.metrics = message.metrics
      break
    case 'recycle':
      slot.recycling = true
      state.log.info({ pool: slot.pool.name, pid: child.pid, reason: message.reason }, 'recycling worker process')
      break
    case 'fatal':
      slot.lastFatal = message.message
      break
  }
}

/** Runs of this child that ended (reported together), counted as `task-end` counts each. */
function ended(slot: Slot, ids: readonly string[]): void {
  for (const id of ids) slot.running.delete(id)
  slot.processed += ids.length
}
