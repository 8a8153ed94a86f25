import type { TaskSettings } from '../app/task-settings'
import type { Broker } from '../contracts/broker'
import type { Envelope } from '../contracts/envelope'
import type { ResultBackend } from '../contracts/result-backend'
import type { Tracing } from '../contracts/tracing'
import type { AppEvents } from '../events/app-events'
import type { Logger } from '../logging/logger'
import type { TaskMetricsRegistry } from '../metrics/task-metrics'
import type { TaskHandler, TaskOptions } from '../task/task'
import type { WorkflowEngine } from '../workflow/engine'

/** A task registered with an app: its declaration, settings, and handler when this process implements it. */
export interface RegisteredTask {
  readonly name: string
  readonly options: TaskOptions<unknown>
  readonly settings: TaskSettings
  readonly handler?: TaskHandler<unknown, unknown>
}

/** What a worker needs from its app. */
export interface WorkerRuntime {
  readonly broker: Broker
  readonly results: ResultBackend | undefined
  readonly logger: Logger
  readonly events: AppEvents
  readonly registry: ReadonlyMap<string, RegisteredTask>
  readonly defaultQueue: string
  /** The worker running the delivery (`Worker.id`), stamped on its events. */
  readonly workerId?: string
  ready(): Promise<void>
  declareQueue(queue: string): Promise<void>
  /**
   * Close the app the worker belongs to (broker, results): what a signal-stopped worker does last, so that nothing is
   * left keeping the process alive and it exits by itself.
   */
  closeApp?(): Promise<void>
  /** Moves workflows on when one of their members ends (absent: runs are never workflow members). */
  readonly workflows?: WorkflowEngine
  /** Makes a span of each run (absent: no tracing, no cost). */
  readonly tracing?: Tracing | undefined
  /** What `ctx.metrics` records into (absent: a task asking for a metric finds none declared). */
  readonly taskMetrics?: TaskMetricsRegistry
}

/** How one delivery ended, as `ExecutionHooks.afterRun` sees it. */
export type ExecutionOutcome =
  | 'succeeded'
  | 'retried'
  | 'failed'
  | 'dead-lettered'
  | 'expired'
  | 'revoked'
  /** A workflow continuation published twice (its publisher died before recording it): dropped, not run. */
  | 'duplicate'
  | 'released'
  | 'unsettled'

/**
 * What `beforeRun` decides: run the handler; skip it (`revoked`: acked, recorded `revoked`); or count the attempt as
 * failed with this error without running it (`{ fail }`: the retry policy decides, as if the handler had thrown).
 */
export type BeforeRunVerdict = 'run' | 'revoked' | { readonly fail: unknown }

/** What a `beforeRun` hook learns about the delivery besides its envelope. */
export interface DeliveryInfo {
  /** 1 for the first delivery of this attempt; more when the broker delivers it again (a crash, a lost lease). */
  readonly deliveryCount: number
}

/** Extension points of the worker loop, used by operations features (revoke, rate limits, heartbeats). */
export interface ExecutionHooks {
  /**
   * Called before a handler runs (after expiry and poison checks). Resolve `revoked` to skip it: the delivery is
   * acked and the task recorded `revoked`. May wait (a rate-limit token): the delivery stays held meanwhile, and
   * `signal` aborts when the worker stops. Resolve `{ fail: error }` to fail the attempt without running it.
   * `delivery.deliveryCount` tells a redelivery (a crash, a killed process: above 1) from a first delivery.
   */
  beforeRun?(envelope: Envelope, signal: AbortSignal, delivery: DeliveryInfo): Promise<BeforeRunVerdict>
  /**
   * Called once per delivery when the worker is done with it. Must not throw. `lingering` is set when the run was
   * stopped by `terminate` but its handler ignores its signal and is still running: JavaScript cannot stop it, so it
   * settles when the handler finally returns or throws (never, for one that loops); `conveyor worker` keeps
   * reporting such a run as running, and its supervisor kills the process after the grace period.
   */
  afterRun?(envelope: Envelope, outcome: ExecutionOutcome, durationMs: number, lingering?: Promise<void>): void
}
