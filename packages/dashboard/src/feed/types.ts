import type { ErrorInfo, JsonValue, TaskState } from '@conveyor/core'

/**
 * The dashboard's view of one task event. A thin local shape on purpose: the dashboard reads events through
 * `DashboardEvents`, so pointing it at another event source (in-process, or core's cross-process stream) changes one
 * adapter, not the pages.
 */
export interface DashboardEvent {
  /** `task.enqueued`, `task.started`, `task.succeeded`, `task.retried`, `task.failed`, `task.dead-lettered`, … */
  readonly type: string
  readonly id: string
  readonly task: string
  readonly queue: string
  readonly attempt: number
  /** Epoch milliseconds. */
  readonly at: number
  /** The worker that emitted it (`host:pid:n`), when a worker did. */
  readonly worker?: string
  readonly durationMs?: number
  /** For `task.retried`: when the next attempt runs, from `at`. */
  readonly delayMs?: number
  /** For `task.dead-lettered`. */
  readonly reason?: string
  readonly error?: ErrorInfo
}

/** Where live task events come from. */
export interface DashboardEvents {
  /** Call `listener` for every event from now on, in the order the source saw them. Returns the unsubscribe. */
  subscribe(listener: (event: DashboardEvent) => void): () => void
}

/** One attempt of a run, as the history saw it. */
export interface RunAttempt {
  readonly attempt: number
  readonly worker?: string
  readonly startedAt?: number
  readonly finishedAt?: number
  /** `succeeded`, `retried`, `failed`, `dead-lettered`, … or absent while running. */
  readonly outcome?: string
  readonly error?: ErrorInfo
}

/** One task run in a listing. */
export interface RunSummary {
  readonly id: string
  readonly task: string
  readonly queue: string
  readonly state: TaskState
  readonly attempt: number
  readonly enqueuedAt?: number
  readonly startedAt?: number
  readonly finishedAt?: number
  /** Epoch milliseconds of the last change; listings are newest first by this. */
  readonly updatedAt: number
  readonly error?: ErrorInfo
}

/** One run with everything known about it. */
export interface RunDetail extends RunSummary {
  readonly input?: JsonValue
  readonly result?: JsonValue
  readonly attempts: readonly RunAttempt[]
  readonly parentId?: string
  readonly rootId?: string
  readonly deliveryCount?: number
  /** Dead-letter reason, when the run was dead-lettered. */
  readonly reason?: string
}

/** Filters of `DashboardHistory.list`; every given one must match. */
export interface RunQuery {
  readonly state?: TaskState
  readonly queue?: string
  readonly task?: string
  /** Substring of the id or the task name. */
  readonly search?: string
  /** Opaque cursor from the previous page's `next`. */
  readonly cursor?: string
  /** Defaults to 50. */
  readonly limit?: number
}

/** A page of runs, newest first. */
export interface RunPage {
  readonly runs: readonly RunSummary[]
  /** Pass as `cursor` for the next (older) page; absent on the last page. */
  readonly next?: string
}

/** Where task runs are listed and looked up. */
export interface DashboardHistory {
  /** `true` when the history only holds what this process saw (the pages say so). */
  readonly local: boolean
  list(query: RunQuery): Promise<RunPage>
  get(id: string): Promise<RunDetail | undefined>
  /** Enqueue time of the oldest run of `queue` still waiting to start, when the history knows it. */
  oldestWaiting?(queue: string): Promise<number | undefined>
}
