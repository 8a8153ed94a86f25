import type { ErrorInfo } from './dead-letter'
import type { JsonValue } from './json'

/** Lifecycle of a task run. `succeeded`, `failed`, `dead-lettered`, `expired` and `revoked` are terminal. */
export type TaskState =
  | 'pending'
  | 'started'
  | 'retrying'
  | 'succeeded'
  | 'failed'
  | 'dead-lettered'
  | 'expired'
  | 'revoked'

export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set<TaskState>([
  'succeeded',
  'failed',
  'dead-lettered',
  'expired',
  'revoked',
])

/** What a result backend stores per task run id. */
export interface TaskRecord {
  readonly id: string
  readonly task: string
  readonly queue: string
  readonly state: TaskState
  readonly attempt: number
  /** The handler's return value, when `succeeded`. */
  readonly result?: JsonValue
  /** The last error, when `retrying`, `failed` or `dead-lettered`. */
  readonly error?: ErrorInfo
  readonly enqueuedAt?: number
  readonly startedAt?: number
  readonly finishedAt?: number
  /** When `retrying`: epoch milliseconds of the next attempt. */
  readonly retryAt?: number
  readonly updatedAt: number
}

/** Options of `ResultBackend.set`. */
export interface ResultSetOptions {
  /** Keep the record this long; backends drop it afterwards. */
  readonly ttlMs: number
}

/** Options of `ResultBackend.wait`. */
export interface ResultWaitOptions {
  /** Reject with `ResultTimeoutError` after this long. */
  readonly timeoutMs: number
  readonly signal?: AbortSignal
}

/** Stores task state and results. */
export interface ResultBackend {
  readonly name: string
  connect(): Promise<void>
  close(): Promise<void>
  /** Write the record (replacing the previous one) and wake anybody waiting on it when the state is terminal. */
  set(record: TaskRecord, options: ResultSetOptions): Promise<void>
  get(id: string): Promise<TaskRecord | undefined>
  /**
   * Resolve with the record once it is in a terminal state (at once if it already is). Must not busy-poll: wait on a
   * notification (pub/sub, an in-process emitter) and read the record when woken.
   */
  wait(id: string, options: ResultWaitOptions): Promise<TaskRecord>
  /** Remove the record. */
  delete(id: string): Promise<void>
}
