import type { RunSummary } from '../tasks'
import type { WorkflowView } from '../workflow-members'

export interface ErrorInfo {
  name: string
  message: string
  stack?: string
  code?: string
}

/** One attempt of a run as the task API describes it. */
export interface AttemptView {
  attempt: number
  worker?: string
  startedAt: number
  finishedAt?: number
  deliveryCount: number
  outcome?: string
  error?: ErrorInfo
}

/** One line of a run's timeline (an event). */
export interface TimelineLine {
  type: string
  at: number
  attempt: number
  worker?: string
  delayMs?: number
  reason?: string
}

/** A run as the history details it (`api/tasks/<id>` → `run`). */
export interface RunDetail extends Omit<RunSummary, 'error'> {
  input?: string
  inputTruncated?: boolean
  result?: string
  resultTruncated?: boolean
  error?: ErrorInfo
  maxAttempts?: number
  parentId?: string
  rootId?: string
  waitMs?: number
  deliveryCount?: number
  notBefore?: number
  attempts: AttemptView[]
  timeline: TimelineLine[]
}

/** The result backend's record of a run (`api/tasks/<id>` → `record`). */
export interface TaskRecord {
  state: string
  attempt: number
  result?: unknown
  error?: ErrorInfo
  enqueuedAt?: number
  startedAt?: number
  finishedAt?: number
  /** The last `ctx.progress` value. */
  progress?: unknown
}

/** What `api/tasks/<id>` answers. */
export interface TaskData {
  run: RunDetail | null
  record: TaskRecord | null
  revoked: boolean
  workflow?: WorkflowView
}

/** What the page shows, merged from the history and the result backend. */
export interface TaskView {
  id: string
  run: RunDetail | null
  record: TaskRecord | null
  revoked: boolean
  state: string
  enqueuedAt: number | undefined
  startedAt: number | undefined
  finishedAt: number | undefined
  /** The error to show when the run is failing (failed, dead-lettered or retrying). */
  failure: ErrorInfo | undefined
  /** Why it was dead-lettered, from its last dead-letter event. */
  deadReason: string | undefined
  finished: boolean
}

/** The result backend holds the latest word on a run (it is written as the run settles); the history fills in. */
export function taskView(id: string, data: TaskData): TaskView {
  const { run, record } = data
  const state = record?.state ?? run?.state ?? 'unknown'
  const failing = ['failed', 'dead-lettered', 'retrying'].includes(state)
  return {
    id,
    run,
    record,
    revoked: data.revoked,
    state,
    enqueuedAt: run?.enqueuedAt ?? record?.enqueuedAt,
    startedAt: record?.startedAt ?? run?.startedAt,
    finishedAt: record ? record.finishedAt : run?.finishedAt,
    failure: failing ? (record?.error ?? run?.error) : undefined,
    deadReason:
      state === 'dead-lettered'
        ? run?.timeline.findLast((line) => line.type === 'task.dead-lettered')?.reason
        : undefined,
    finished: ['succeeded', 'failed', 'dead-lettered', 'expired', 'revoked'].includes(state),
  }
}
