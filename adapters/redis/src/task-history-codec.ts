import {
  encodeEvent,
  phaseOf,
  stateOfEvent,
  type TaskEvent,
  type TaskRun,
  type TaskState,
} from '@conveyor/core/adapter'

/**
 * The wire format between the task history and its scripts: the 16 arguments one event takes in
 * lua/history-record.lua, and the 13 values one run takes in a reply of lua/history-list.lua.
 */
export const RECORD_ARGS_PER_EVENT = 16
export const LIST_VALUES_PER_RUN = 13

/** The script arguments of one event (see lua/history-record.lua); `json`: the event already encoded. */
export function eventArgs(event: TaskEvent, json: string | undefined): (string | number)[] {
  const error = 'error' in event ? event.error : undefined
  const phase = phaseOf(event.type)
  const hint = event.type === 'task.started' ? event.enqueuedAt : event.at
  return [
    event.id,
    event.task,
    event.queue,
    event.type,
    event.at,
    event.attempt,
    event.type === 'task.replayed' ? 0 : event.attempt * 4 + phase,
    stateOfEvent(event.type) ?? '',
    phase,
    event.worker ?? '',
    hint,
    error?.name ?? '',
    error?.message ?? '',
    event.type === 'task.enqueued' ? event.priority : '',
    json ?? encodeEvent(event),
    event.type === 'task.enqueued' ? (event.input ?? '') : '',
  ]
}

/** One run of a list reply: id, task, queue, state, attempt, score, started, finished, updated, worker, error, priority. */
export function rowToRun(row: readonly string[]): TaskRun {
  const [
    id,
    task,
    queue,
    state,
    attempt,
    score,
    startedAt,
    finishedAt,
    updatedAt,
    worker,
    errName,
    errMessage,
    priority,
  ] = row as [string, string, string, string, string, string, string, string, string, string, string, string, string]
  return {
    id,
    task,
    queue,
    state: state as TaskState,
    attempt: Number(attempt),
    enqueuedAt: Number(score),
    updatedAt: Number(updatedAt || score),
    ...(priority !== '' ? { priority: Number(priority) } : {}),
    ...(startedAt !== '' ? { startedAt: Number(startedAt) } : {}),
    ...(finishedAt !== '' ? { finishedAt: Number(finishedAt) } : {}),
    ...(worker !== '' ? { worker } : {}),
    ...(errName !== '' ? { error: { name: errName, message: errMessage } } : {}),
  }
}
