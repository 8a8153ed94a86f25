import type { DeadLetterReason, ErrorInfo } from './dead-letter'
import type { ConveyorEvent, TaskEventType } from './event-stream'
import type { TaskState } from './result-backend'

/** One task run as a list shows it. */
export interface TaskRun {
  readonly id: string
  readonly task: string
  readonly queue: string
  /** The latest state: `pending` from the enqueue event until a worker starts it. */
  readonly state: TaskState
  /** The latest attempt seen. */
  readonly attempt: number
  readonly priority?: number
  /** Epoch milliseconds: enqueued (first seen, when the enqueue event was not seen); what lists sort by. */
  readonly enqueuedAt: number
  /** When the latest attempt started. */
  readonly startedAt?: number
  /** When the run reached a terminal state. */
  readonly finishedAt?: number
  /** When the last event about the run was recorded. */
  readonly updatedAt: number
  /** The worker of the latest attempt (`host:pid:n`). */
  readonly worker?: string
  /** The last error's name and message (the stack is in the detail). */
  readonly error?: Pick<ErrorInfo, 'name' | 'message'>
}

/** One attempt of a run. */
export interface TaskAttempt {
  readonly attempt: number
  readonly worker?: string
  readonly startedAt: number
  readonly finishedAt?: number
  /** Times this attempt was delivered (a crash redelivers the same attempt). */
  readonly deliveryCount: number
  /** How it ended; absent while running (or when its worker died without a word). */
  readonly outcome?: 'succeeded' | 'retried' | 'failed' | 'dead-lettered' | 'expired' | 'revoked'
  readonly error?: ErrorInfo
}

/** One line of a run's timeline. */
export interface TaskHappening {
  readonly type: TaskEventType
  readonly at: number
  readonly attempt: number
  readonly worker?: string
  /** For `task.retried`: the delay before the next attempt. */
  readonly delayMs?: number
  /** For `task.dead-lettered`. */
  readonly reason?: DeadLetterReason
}

/** Everything recorded about one run. */
export interface TaskRunDetail extends TaskRun {
  /** The input as JSON text, possibly cut (`inputTruncated`); absent when not recorded. */
  readonly input?: string
  readonly inputTruncated?: boolean
  /** The return value as JSON text, when it succeeded and it was recorded. */
  readonly result?: string
  readonly resultTruncated?: boolean
  /** The last error in full, with its stack. */
  readonly error?: ErrorInfo
  readonly maxAttempts?: number
  readonly parentId?: string
  readonly rootId?: string
  /** `startedAt` of the first attempt minus `enqueuedAt` (or minus `notBefore` for delayed runs). */
  readonly waitMs?: number
  /** Delivery count of the latest attempt. */
  readonly deliveryCount?: number
  readonly notBefore?: number
  /** Every attempt seen, oldest first. */
  readonly attempts: readonly TaskAttempt[]
  /** What happened to it, oldest first: enqueued, started, retried, dead-lettered, replayed, revoked… (bounded). */
  readonly timeline: readonly TaskHappening[]
}

/** What `TaskHistory.list` returns: filters combine with AND. */
export interface TaskRunQuery {
  readonly state?: TaskState
  readonly queue?: string
  readonly task?: string
  /** Only runs enqueued at or after this epoch-millisecond time. */
  readonly since?: number
  /** Only runs enqueued before this epoch-millisecond time. */
  readonly until?: number
  /**
   * Case-sensitive substring of the run's id or task name, and of its input text where the store supports it
   * (`TaskHistory.searchesInput`).
   */
  readonly search?: string
  /** At most this many runs. Defaults to 50, at most 500. */
  readonly limit?: number
  /** `TaskRunPage.next` of the previous page. */
  readonly cursor?: string
}

/** One page of runs, newest first. */
export interface TaskRunPage {
  readonly runs: readonly TaskRun[]
  /**
   * Pass as `cursor` for the next (older) page; absent at the end. A page may hold fewer than `limit` runs and still
   * have a `next`: stores bound the work of one call (filters over a large history are scanned in slices).
   */
  readonly next?: string
}

/** How long history keeps runs; the oldest are dropped when either bound is passed. */
export interface HistoryRetention {
  /** Most runs kept. Defaults to 100,000. */
  readonly maxRuns?: number
  /** Runs enqueued longer ago than this are dropped. Defaults to 7 days. */
  readonly maxAgeMs?: number
}

/**
 * Task runs kept for listing and inspection, written from the app's event batches (never one write per job) or by
 * following an `EventStream`. Lives in a shared store where there is one (the Redis result backend), so restarting a
 * reader loses nothing within retention; a reader never loads the whole history (pages come from the store).
 *
 * Recording is idempotent per event and tolerant of order across processes: a `task.enqueued` that arrives after the
 * worker's `task.started` does not turn the run back to `pending`.
 */
export interface TaskHistory {
  /** Short name, e.g. `memory`, `redis`. */
  readonly name: string
  readonly retention: HistoryRetention
  /** Whether `search` also matches the input text. */
  readonly searchesInput: boolean
  connect(): Promise<void>
  close(): Promise<void>
  /**
   * Fold a batch of events into the runs (worker events are ignored). Applies retention as it goes. `encoded`, when
   * given, holds each event as JSON text (`encoded[i]` is `events[i]`, from core's `encodeEvent`): a history that
   * stores JSON uses it instead of encoding again.
   */
  record(events: readonly ConveyorEvent[], encoded?: readonly string[]): Promise<void>
  /** Runs matching the query, newest enqueued first. */
  list(query?: TaskRunQuery): Promise<TaskRunPage>
  /** One run in full, or undefined when unknown or dropped by retention. */
  get(id: string): Promise<TaskRunDetail | undefined>
  /** How many runs are kept now (approximate where the store counts cheaply). */
  count(): Promise<number>
}

/** Options a result backend takes when asked for its history (`ResultBackend.taskHistory`). */
export interface TaskHistoryOptions {
  readonly retention?: HistoryRetention
}
