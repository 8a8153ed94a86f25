import type { ErrorInfo } from './dead-letter'
import type { Envelope } from './envelope'
import type { JsonValue } from './json'
import type { TaskHistory, TaskHistoryOptions } from './task-history'
import type { WorkflowStore } from './workflow-store'

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
  /** The last value the handler reported with `ctx.progress(value)`, kept through the later states. */
  readonly progress?: JsonValue
  readonly updatedAt: number
}

/** What a result backend can do beyond storing records; read by core before it relies on it. */
export interface ResultBackendCapabilities {
  /**
   * `atomic`: `workflows` is implemented, atomically in a store every process shares, so chain, group and chord can
   * run. `none`: they refuse to start with `WorkflowsUnsupportedError` (e.g. results sent back to one producer).
   */
  readonly workflowCounting: 'atomic' | 'none'
}

/** Options of `ResultBackend.set`. */
export interface ResultSetOptions {
  /** Keep the record this long; backends drop it afterwards. */
  readonly ttlMs: number
  /**
   * The envelope of the run the record describes, when a worker writes it (core always passes it). A backend that
   * routes records rather than storing them in one shared place reads its address here (e.g. the RabbitMQ RPC
   * backend reads the reply queue from `envelope.headers`). Absent when the record is written directly.
   */
  readonly envelope?: Envelope
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
  /** Absent means every capability at its conservative default (`workflowCounting: 'none'`). */
  readonly capabilities?: ResultBackendCapabilities
  /** Workflow counting and plans; present exactly when `capabilities.workflowCounting` is `atomic`. */
  readonly workflows?: WorkflowStore
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
  /**
   * Headers this backend needs on every envelope the app enqueues, e.g. where to send the run's records. Optional:
   * backends with a shared store leave it out. Core calls it for each envelope it builds (`enqueue`, `enqueueMany`),
   * possibly before `connect`, and merges the result into `envelope.headers`; on a name clash the backend's value
   * wins over the caller's `headers`, so headers copied from another run (`ctx.envelope.headers`) cannot send this
   * run's records to that run's producer. Keep it cheap and the values small (they travel in every message).
   */
  enqueueHeaders?(): Readonly<Record<string, string>> | undefined
  /**
   * Optional: a handle on the task history kept in this backend's store (see `TaskHistory`). Backends without a
   * shared store (RabbitMQ RPC results) leave it out; history is then built by following the event stream.
   */
  taskHistory?(options?: TaskHistoryOptions): TaskHistory
}
