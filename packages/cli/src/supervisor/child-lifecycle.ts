import type { MetricsSnapshot } from '@conveyor/core/adapter'
import type { StopKind, SupervisorLink } from './child-link'
import type { StartedChild } from './child-start'
import type { ChildConfig } from './messages'

/**
 * A started child's life until it exits: counters reported to the supervisor every stats interval, recycling
 * after `maxTasksPerChild` runs or past `maxMemoryMb`, and the graceful or hard stop.
 */
export class ChildLifecycle {
  private started: StartedChild | undefined
  private stopping: StopKind | undefined
  private stats: NodeJS.Timeout | undefined
  private collecting = false
  private warnedBaseline = false

  constructor(
    private readonly config: ChildConfig,
    private readonly link: SupervisorLink,
  ) {}

  /** The worker runs: report it ready and take stops from now on. */
  run(started: StartedChild): void {
    this.started = started
    this.stats = setInterval(() => this.tick(started), this.config.statsIntervalMs)
    this.link.send({ type: 'ready', workerId: started.worker.id, queues: started.worker.queues })
    this.link.handOverStops((how) => void (how === 'graceful' ? this.graceful() : this.hard()))
  }

  /** After each run and each stats tick: leave (to be replaced) once over a limit. */
  checkRecycle(): void {
    const started = this.started
    if (started === undefined) return
    const { config } = this
    // `processed` already counts the delivery whose afterRun is calling this.
    const finished = started.worker.processed
    if (config.maxTasksPerChild !== undefined && finished >= config.maxTasksPerChild) {
      this.recycle(`finished ${finished} tasks (max ${config.maxTasksPerChild})`)
    } else if (config.maxMemoryMb !== undefined && process.memoryUsage.rss() > config.maxMemoryMb * 1024 * 1024) {
      const rssMb = Math.round(process.memoryUsage.rss() / 1048576)
      if (finished > 0) this.recycle(`resident memory ${rssMb} MiB over ${config.maxMemoryMb} MiB`)
      else if (!this.warnedBaseline) {
        // Over the limit before any task ran: a fresh process would be too, so replacing it would only loop.
        this.warnedBaseline = true
        started.app.logger.warn(
          { rssMb, maxMemoryMb: config.maxMemoryMb },
          'resident memory is over --max-memory-mb before any task ran; not recycling (raise the limit)',
        )
      }
    }
  }

  private async graceful(): Promise<void> {
    const started = this.started
    if (this.stopping || started === undefined) return
    this.stopping = 'graceful'
    clearInterval(this.stats)
    await started.worker.stop({ timeoutMs: this.config.drainTimeoutMs })
    // The last runs' counts: what the supervisor keeps of this process once it has exited.
    this.report(started, started.metrics?.snapshot())
    await started.heartbeat?.stop()
    await started.app.close().catch(() => undefined)
    this.link.exit(0)
  }

  private async hard(): Promise<void> {
    const started = this.started
    if (this.stopping === 'hard' || started === undefined) return
    this.stopping = 'hard'
    clearInterval(this.stats)
    // A stop with no drain time aborts running handlers and gives their deliveries back now (also when a graceful
    // drain is under way). The timer is the backstop for a handler that blocks the event loop.
    setTimeout(() => this.link.exit(0), 2000).unref()
    await Promise.all([started.worker.stop({ timeoutMs: 0 }).catch(() => undefined), started.heartbeat?.stop()])
    this.report(started, started.metrics?.snapshot())
    await started.app.close({ timeoutMs: 0 }).catch(() => undefined)
    this.link.exit(0)
  }

  private recycle(reason: string): void {
    if (this.stopping) return
    this.link.send({ type: 'recycle', reason })
    void this.graceful()
  }

  /** Counters to the supervisor, with everything counted so far when metrics are on (`snapshot`). */
  private report({ worker }: StartedChild, snapshot?: MetricsSnapshot): void {
    this.link.send({
      type: 'stats',
      rssBytes: process.memoryUsage.rss(),
      active: worker.active,
      processed: worker.processed,
      ...(snapshot ? { metrics: snapshot } : {}),
    })
  }

  private tick(started: StartedChild): void {
    const { metrics } = started
    if (metrics === undefined) this.report(started)
    else if (!this.collecting) {
      // Reading queue depth takes a broker round trip; a slow one skips a report rather than piling them up.
      this.collecting = true
      void metrics
        .collect()
        .then(
          (snapshot) => this.report(started, snapshot),
          () => this.report(started, metrics.snapshot()),
        )
        .finally(() => {
          this.collecting = false
        })
    }
    this.checkRecycle()
  }
}
