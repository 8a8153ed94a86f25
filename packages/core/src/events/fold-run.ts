import type { ErrorInfo } from '../contracts/dead-letter'
import type { TaskEvent } from '../contracts/event-stream'
import type { TaskState } from '../contracts/result-backend'
import type { TaskAttempt, TaskHappening, TaskRun, TaskRunDetail } from '../contracts/task-history'

/** Attempts and timeline lines kept per run: a run retried forever must not grow without bound. */
export const MAX_RUN_LINES = 50

type Mutable<T> = { -readonly [K in keyof T]: T[K] }

/** A run as a history store keeps it while folding events into it. */
export interface RunRecord extends Omit<Mutable<TaskRunDetail>, 'attempts' | 'timeline'> {
  attempts: Mutable<TaskAttempt>[]
  timeline: TaskHappening[]
  /** Orders state changes that arrive out of order across processes: attempt * 4 + phase. */
  stateRank: number
  stateAt: number
}

const STATE_OF: Partial<Record<TaskEvent['type'], TaskState>> = {
  'task.enqueued': 'pending',
  'task.replayed': 'pending',
  'task.started': 'started',
  'task.retried': 'retrying',
  'task.succeeded': 'succeeded',
  'task.failed': 'failed',
  'task.dead-lettered': 'dead-lettered',
  'task.expired': 'expired',
  'task.revoked': 'revoked',
}

/** The run state an event moves its run to (undefined for `task.progress`). */
export function stateOfEvent(type: TaskEvent['type']): TaskState | undefined {
  return STATE_OF[type]
}

/** 0 for enqueue-like events, 1 for a start, 2 for an attempt's end. */
export function phaseOf(type: TaskEvent['type']): number {
  if (type === 'task.enqueued' || type === 'task.replayed') return 0
  return type === 'task.started' ? 1 : 2
}

/**
 * Fold one task event into its run (a new run when `run` is undefined). A state change applies only when it is not
 * older than the current one by (attempt, phase), so a producer's `task.enqueued` arriving after the worker's
 * `task.started` fills in the input without turning the run back to `pending`. A replay starts the run over.
 */
export function foldRun(run: RunRecord | undefined, event: TaskEvent): RunRecord {
  const record: RunRecord = run ?? {
    id: event.id,
    task: event.task,
    queue: event.queue,
    state: 'pending',
    attempt: event.attempt,
    enqueuedAt: event.at,
    updatedAt: event.at,
    attempts: [],
    timeline: [],
    stateRank: -1,
    stateAt: 0,
  }
  record.updatedAt = Math.max(record.updatedAt, event.at)
  const state = STATE_OF[event.type]
  const rank = event.type === 'task.replayed' ? 0 : event.attempt * 4 + phaseOf(event.type)
  const replay = event.type === 'task.replayed' && event.at >= record.stateAt
  if (state !== undefined && (rank >= record.stateRank || replay)) {
    record.state = state
    record.stateRank = rank
    record.stateAt = event.at
    record.attempt = Math.max(event.type === 'task.replayed' ? 1 : event.attempt, replay ? 1 : record.attempt)
    if (event.worker !== undefined) record.worker = event.worker
    if (phaseOf(event.type) === 2 && event.type !== 'task.retried') record.finishedAt = event.at
    if (phaseOf(event.type) < 2) delete record.finishedAt
  }
  details(record, event)
  record.timeline.push(happening(event))
  if (record.timeline.length > MAX_RUN_LINES) record.timeline.splice(1, 1) // keep the first line (the enqueue)
  return record
}

function details(record: RunRecord, event: TaskEvent): void {
  switch (event.type) {
    case 'task.enqueued':
      record.enqueuedAt = event.at
      record.priority = event.priority
      record.maxAttempts = event.maxAttempts
      assign(record, {
        notBefore: event.notBefore,
        parentId: event.parentId,
        rootId: event.rootId,
        input: event.input,
        inputTruncated: event.inputTruncated,
      })
      break
    case 'task.started': {
      record.enqueuedAt = Math.min(record.enqueuedAt, event.enqueuedAt)
      record.startedAt = event.at
      record.deliveryCount = event.deliveryCount
      if (record.attempts.length === 0 || record.waitMs === undefined) {
        record.waitMs = Math.max(0, event.at - Math.max(record.enqueuedAt, record.notBefore ?? 0))
      }
      const attempt = attemptOf(record, event.attempt)
      attempt.startedAt = event.at
      attempt.deliveryCount = event.deliveryCount
      if (event.worker !== undefined) attempt.worker = event.worker
      break
    }
    case 'task.succeeded':
      assign(record, { result: event.result, resultTruncated: event.resultTruncated })
      end(record, event, 'succeeded')
      break
    case 'task.retried':
    case 'task.failed':
      end(record, event, event.type === 'task.retried' ? 'retried' : 'failed', event.error)
      break
    case 'task.dead-lettered':
      end(record, event, 'dead-lettered', event.error)
      break
    case 'task.expired':
    case 'task.revoked':
      end(record, event, event.type === 'task.expired' ? 'expired' : 'revoked')
      break
    default:
      break
  }
}

function end(record: RunRecord, event: TaskEvent, outcome: TaskAttempt['outcome'], error?: ErrorInfo): void {
  const attempt = attemptOf(record, event.attempt)
  attempt.finishedAt = event.at
  attempt.outcome = outcome
  if (event.worker !== undefined) attempt.worker ??= event.worker
  if (error !== undefined) {
    attempt.error = error
    record.error = error
  }
}

function attemptOf(record: RunRecord, n: number): Mutable<TaskAttempt> {
  let attempt = record.attempts.find((a) => a.attempt === n)
  if (attempt === undefined) {
    attempt = { attempt: n, startedAt: 0, deliveryCount: 0 }
    record.attempts.push(attempt)
    record.attempts.sort((a, b) => a.attempt - b.attempt)
    if (record.attempts.length > MAX_RUN_LINES) record.attempts.shift()
  }
  return attempt
}

function happening(event: TaskEvent): TaskHappening {
  const line: Mutable<TaskHappening> = { type: event.type, at: event.at, attempt: event.attempt }
  if (event.worker !== undefined) line.worker = event.worker
  if (event.type === 'task.retried') line.delayMs = event.delayMs
  if (event.type === 'task.dead-lettered') line.reason = event.reason
  return line
}

/** Copy the defined values only (optional fields stay absent rather than `undefined`). */
function assign(record: RunRecord, values: Partial<RunRecord>): void {
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined) (record as unknown as Record<string, unknown>)[key] = value
  }
}

/** The list view of a run. */
export function runSummary(record: RunRecord): TaskRun {
  const run: Mutable<TaskRun> = {
    id: record.id,
    task: record.task,
    queue: record.queue,
    state: record.state,
    attempt: record.attempt,
    enqueuedAt: record.enqueuedAt,
    updatedAt: record.updatedAt,
  }
  if (record.priority !== undefined) run.priority = record.priority
  if (record.startedAt !== undefined) run.startedAt = record.startedAt
  if (record.finishedAt !== undefined) run.finishedAt = record.finishedAt
  if (record.worker !== undefined) run.worker = record.worker
  if (record.error !== undefined) run.error = { name: record.error.name, message: record.error.message }
  return run
}

/** The detail view of a run (a copy: callers may keep it). */
export function runDetail(record: RunRecord): TaskRunDetail {
  const { stateRank: _rank, stateAt: _at, ...detail } = structuredClone(record)
  return detail
}
