/** The job every system moves: a small JSON object. `t` is the producer's `performance.now()` (latency runs). */
export interface BenchJob {
  readonly i: number
  readonly t: number
}

export type BrokerKind = 'redis' | 'rabbitmq' | 'memory'
export type Family = 'conveyor' | 'bullmq' | 'raw'

/** Servers the systems talk to. */
export interface BenchEnv {
  readonly redisUrl: string
  readonly amqpUrl: string
}

export interface ConsumeHooks {
  /** Called as the handler starts (latency runs). */
  readonly onStart?: (job: BenchJob) => void
  /** Called once the job is settled (acked / completed), which is what throughput counts. */
  readonly onDone: () => void
  /** When given, the handler awaits it after `onStart` (crash runs hold the task until the worker is killed). */
  readonly hold?: () => Promise<void>
}

export interface Consumer {
  stop(): Promise<void>
}

/** One isolated instance of a system: its own key prefix / queue names, cleaned up by `close`. */
export interface SystemInstance {
  /** The unique name part of every key / queue this instance uses; another process can attach with it. */
  readonly namespace: string
  /** One job, resolved once the broker holds it durably (the system's own guarantee). */
  enqueue(job: BenchJob): Promise<void>
  /** Many jobs in one call, when the system's API offers it. */
  readonly enqueueBulk?: (jobs: readonly BenchJob[]) => Promise<void>
  /** Fill a backlog as fast as the system allows (bulk when it has it); not measured. */
  fill(jobs: readonly BenchJob[]): Promise<void>
  /** Start a worker: `concurrency` handlers at once (prefetch = concurrency), no-op handler. */
  consume(concurrency: number, hooks: ConsumeHooks): Promise<Consumer>
  /** Stop everything and delete what this instance created. */
  close(): Promise<void>
}

export interface BenchSystem {
  /** e.g. `conveyor-redis`, `bullmq`, `raw-redis`. */
  readonly id: string
  readonly broker: BrokerKind
  readonly family: Family
  /** What the row stands for, for the report. */
  readonly description: string
  /** The only scenarios this system runs in (all when absent): variants that exist for one target. */
  readonly scenarios?: readonly string[]
  /**
   * A fresh instance under a new namespace, or attached to `attachTo` (a worker process joining the parent's queue).
   * Throws `UnavailableError` when the system cannot run here (adapter not written yet).
   */
  create(env: BenchEnv, attachTo?: string): Promise<SystemInstance>
}

/** A system that cannot run in this checkout or on this machine; reported as n/a with the reason. */
export class UnavailableError extends Error {
  readonly code = 'BENCH_UNAVAILABLE'
  constructor(message: string) {
    super(`[bench] ${message}`)
    this.name = 'UnavailableError'
  }
}

/** This case does not apply to the system (e.g. no bulk API); the system stays available for other cases. */
export class NotApplicableError extends Error {
  readonly code = 'BENCH_NOT_APPLICABLE'
  constructor(message: string) {
    super(message)
    this.name = 'NotApplicableError'
  }
}
