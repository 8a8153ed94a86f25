import { hostname } from 'node:os'
import type { ExecutionHooks, WorkerRuntime } from './runtime'
import { WorkerLifecycle } from './worker-lifecycle'
import { WorkerLoop } from './worker-loop'
import { resolveWorkerSettings } from './worker-settings'

export interface WorkerOptions {
  /** Queues to consume. Defaults to the queues of the tasks this app implements (and the default queue). */
  readonly queues?: readonly string[]
  /** Handlers running at once across all queues. Defaults to 10. */
  readonly concurrency?: number
  /** Deliveries each queue subscription holds unsettled. Defaults to `concurrency`. */
  readonly prefetch?: number
  /** Stop gracefully on SIGTERM/SIGINT (a second signal stops hard). Off by default; the CLI turns it on. */
  readonly handleSignals?: boolean
  /**
   * How long a graceful stop (`stop()`, SIGTERM) lets running handlers finish before their deliveries go back.
   * Defaults to 25 s (under Kubernetes' 30 s grace). The same name as the CLI's `--drain-timeout` and the supervisor's.
   */
  readonly drainTimeoutMs?: number
  /** @deprecated Use `drainTimeoutMs` (the same setting); this name goes in the next minor release. */
  readonly shutdownTimeoutMs?: number
  /** Extension points (revoke, rate limits, heartbeats); see `ExecutionHooks`. */
  readonly hooks?: ExecutionHooks
}

export type WorkerState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped'

export interface Worker {
  /** `host:pid:n`, unique per worker. */
  readonly id: string
  readonly queues: readonly string[]
  readonly state: WorkerState
  /** Deliveries being processed now (handlers running, or outcomes being settled with the broker). */
  readonly active: number
  /** Deliveries finished since start. */
  readonly processed: number
  /** Ids of the runs whose handlers are running now. */
  runningIds(): string[]
  /**
   * Stop a running run now (`revoke(id, { terminate: true })`): its handler's signal aborts with `TaskRevokedError`
   * and the run ends `revoked`, never retried. False when this worker is not running it.
   */
  terminate(id: string): boolean
  /** Declare the queues and start consuming. Resolves once every subscription is live. */
  start(): Promise<void>
  /**
   * Stop fetching, let running handlers finish for up to `timeoutMs`, then abort the rest and give their deliveries
   * back to the broker. Resolves when nothing is held any more. Calling it again with `timeoutMs: 0` while it drains
   * stops at once (a hard stop).
   */
  stop(options?: { timeoutMs?: number }): Promise<void>
}

let workerSeq = 0

/**
 * Wires a worker from its parts: the settings (defaults, checks), the loop (the per-job hot path and the state it
 * shares) and the lifecycle (start, stop, signals).
 */
export function createWorker(app: WorkerRuntime & { queuesOf(): string[] }, options: WorkerOptions): Worker {
  const settings = resolveWorkerSettings(options, () => app.queuesOf())
  const host = hostname()
  const id = `${host}:${process.pid}:${++workerSeq}`
  const runtime: WorkerRuntime = { ...app, workerId: id }
  const log = runtime.logger.child({ worker: id })
  const loop = new WorkerLoop(runtime, settings.hooks, settings.concurrency, log)
  const lifecycle = new WorkerLifecycle({
    id,
    host,
    runtime,
    settings,
    loop,
    log,
    closeApp: () => app.closeApp?.(),
  })
  return {
    id,
    queues: settings.queues,
    get state() {
      return loop.state
    },
    get active() {
      return loop.running.size
    },
    get processed() {
      return loop.processed
    },
    runningIds: () => loop.runningIds(),
    terminate: (taskId) => loop.terminate(taskId),
    start: () => lifecycle.start(),
    stop: (stopOptions) => lifecycle.stop(stopOptions),
  }
}
