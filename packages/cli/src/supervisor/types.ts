import type { CoordinationStore, Logger } from '@conveyor/core'
import type { RestartPolicy } from './backoff'
import type { PoolSpec } from './pools'

export interface SupervisorOptions {
  /** Absolute path of the app module every child loads. */
  readonly app: string
  readonly pools: readonly PoolSpec[]
  readonly logger: Logger
  /** Deliveries each worker process holds unsettled (running or waiting). Default: its pool's concurrency. */
  readonly prefetch?: number
  readonly maxTasksPerChild?: number
  readonly maxMemoryMb?: number
  /**
   * Hard timeout, ms, for tasks that declare none (`hardTimeoutMs` on the task, or the app module's `hardTimeouts`,
   * take precedence): a worker process running a task longer is killed and replaced, and the attempt fails.
   */
  readonly hardTimeoutMs?: number
  /** @deprecated Use `hardTimeoutMs` (the same setting); this name goes in the next minor release. */
  readonly hardTimeLimitMs?: number
  /**
   * Where to record hard-limit kills (with a TTL), so that a worker of another supervisor that gets the redelivery
   * also fails the killed attempt. This supervisor's own children hear of kills over IPC either way.
   */
  readonly coordination?: CoordinationStore
  /**
   * How long a run revoked with `terminate` may take to stop after its handler's signal aborted before its process
   * is killed and replaced. Default 5 s. Needs `coordination` (where revokes are read).
   */
  readonly terminateGraceMs?: number
  /** How long a graceful stop lets running tasks finish. Default 25 s, under Kubernetes' 30 s grace period. */
  readonly drainTimeoutMs?: number
  /**
   * Task events (`--events`): true makes every worker process publish its task and worker events to the app's event
   * stream (and task history), as if the app module passed `createApp({ events: true })`; false stops an app module
   * that publishes; absent: as the app module says.
   */
  readonly events?: boolean
  /** How often children report counters and write heartbeats. Default 2 s. */
  readonly statsIntervalMs?: number
  readonly restart?: Partial<RestartPolicy>
  /** Serve `/healthz` and `/readyz` on this port. */
  readonly healthPort?: number
  /** Serve Prometheus metrics at `/metrics` on this port: the children's, added up, and the supervisor's own. */
  readonly metricsPort?: number
  /** Node flags for the children. Defaults to this process's (so tsx and `--conditions` carry over). */
  readonly execArgv?: readonly string[]
}

/** One worker process of a pool, as `conveyor worker` shows it. */
export interface ChildStatus {
  readonly pool: string
  readonly slot: number
  readonly pid?: number
  readonly state: 'starting' | 'ready' | 'backoff' | 'stopping' | 'exited'
  readonly restarts: number
  readonly failures: number
  readonly running: number
  readonly processed: number
  readonly rssBytes?: number
}

export interface Supervisor {
  /** Fork every pool's children; resolves once they are forked (not necessarily ready). */
  start(): Promise<void>
  /** Graceful stop: children drain up to the drain timeout, then are stopped hard. Resolves when all exited. */
  stop(): Promise<void>
  /** Hard stop: children give their deliveries back now; stragglers are killed after 3 s. */
  stopNow(): Promise<void>
  /** SIGTERM/SIGINT: first → `stop()`, second → `stopNow()`. */
  handleSignals(): void
  status(): ChildStatus[]
  /** Resolves with the exit code once everything stopped. */
  readonly done: Promise<number>
}
