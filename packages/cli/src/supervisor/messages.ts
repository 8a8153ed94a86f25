import type { HardLimitKill, MetricsSnapshot } from '@conveyor/core/adapter'

/** What a supervisor tells a worker child to run, passed as JSON in `CONVEYOR_CHILD_CONFIG`. */
export interface ChildConfig {
  /** Absolute path of the app module. */
  readonly app: string
  readonly pool: string
  readonly queues: readonly string[]
  readonly concurrency: number
  /** Deliveries the worker holds unsettled; absent: its concurrency. */
  readonly prefetch?: number
  /** Exit (to be replaced) after this many finished deliveries. */
  readonly maxTasksPerChild?: number
  /** Exit (to be replaced) once resident memory passes this many MiB. */
  readonly maxMemoryMb?: number
  /** Hard timeout for tasks that declare none, ms (`--hard-timeout`); tasks' and the module's take precedence. */
  readonly hardTimeoutMs?: number
  /** How long a graceful stop lets running tasks finish. */
  readonly drainTimeoutMs: number
  /** Publish task events (`--events`) or not (`--no-events`); absent: as the app module says. */
  readonly events?: boolean
  /** How often the child reports its counters (and writes its heartbeat). */
  readonly statsIntervalMs: number
  /** Collect metrics and send a snapshot with each stats report (the supervisor serves their sum at /metrics). */
  readonly metrics?: boolean
  /** Recent hard-limit kills, so a replacement child fails their redeliveries too (it missed the broadcast). */
  readonly kills?: readonly HardLimitKill[]
}

/** Child → supervisor, over the IPC channel. */
export type ChildMessage =
  | { readonly type: 'ready'; readonly workerId: string; readonly queues: readonly string[] }
  | {
      readonly type: 'task-start'
      readonly id: string
      readonly task: string
      readonly attempt: number
      /** Hard limit for this run, ms (absent: none). */
      readonly hardLimitMs?: number
      /** Runs (without a hard limit) that ended since the last report, riding along: see `task-ends`. */
      readonly ended?: readonly string[]
    }
  | { readonly type: 'task-end'; readonly id: string; readonly outcome: string }
  /**
   * Runs without a hard limit that ended, reported together: on the next `task-start`, else at the end of the tick.
   * One IPC message per run instead of two (each message costs both processes a pipe write, a wake-up and a JSON
   * round; the supervisor spent ~35 µs of CPU per job on them). A run with a hard limit reports its end at once, so a
   * late report can never get a finished run counted against its limit.
   */
  | { readonly type: 'task-ends'; readonly ids: readonly string[] }
  | {
      readonly type: 'stats'
      readonly rssBytes: number
      readonly active: number
      readonly processed: number
      /** With `metrics` on: everything this process has counted so far. */
      readonly metrics?: MetricsSnapshot
    }
  /** The child is leaving on purpose to be replaced (max tasks, memory). */
  | { readonly type: 'recycle'; readonly reason: string }
  /** Start-up failed; the child exits 1 right after. */
  | { readonly type: 'fatal'; readonly message: string }

/**
 * Supervisor → child. `stop`: finish running tasks (up to the drain timeout); `stop-now`: give them back at once;
 * `hard-limit-killed`: a process was killed running this attempt, so its redelivery must fail, not run again.
 */
export type SupervisorMessage =
  | { readonly type: 'stop' }
  | { readonly type: 'stop-now' }
  | ({ readonly type: 'hard-limit-killed' } & HardLimitKill)
  /** The run was revoked with `terminate`: abort its handler now (`worker.terminate`). */
  | { readonly type: 'terminate'; readonly id: string }

export const CHILD_CONFIG_ENV = 'CONVEYOR_CHILD_CONFIG'

export function isChildMessage(value: unknown): value is ChildMessage {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string'
}
