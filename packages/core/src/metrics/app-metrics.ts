import type { App } from '../app/create-app'
import { InvalidOptionsError } from '../errors/invalid-options-error'
import { withTimeout } from '../util/with-timeout'
import type { Worker } from '../worker/worker'
import { countTaskEvents, declareAppMetrics } from './app-metric-families'
import { renderPrometheus } from './prometheus'
import { MetricsRegistry } from './registry'
import type { MetricsSnapshot } from './snapshot'

/** Task duration buckets in seconds: 5 ms to 5 min, for jobs from cache writes to report builds. */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
]

export { DEFAULT_WAIT_BUCKETS } from './app-metric-families'

export interface MetricsOptions {
  /** Report these queues' depth (`ready`, `delayed`, `dead`), read from the broker on every `collect()`. */
  readonly queues?: readonly string[]
  /** Report these workers' running and processed counts. */
  readonly workers?: readonly Worker[]
  /** Histogram buckets of `conveyor_task_duration_seconds`, ascending. */
  readonly durationBuckets?: readonly number[]
  /** Label combinations kept per metric (task names come from messages); past it they count as `(other)`. */
  readonly maxSeries?: number
  /** How long `collect()` waits for a queue's stats before leaving it out. Defaults to 2000 ms. */
  readonly statsTimeoutMs?: number
}

/** Prometheus metrics of one app: task events as they happen, queue depth and workers when collected. */
export interface AppMetrics {
  /** Read queue depth and worker gauges now, and return every metric as plain data (JSON-safe). */
  collect(): Promise<MetricsSnapshot>
  /** What is counted now, without reading anything: gauges stay as the last `collect()` left them. */
  snapshot(): MetricsSnapshot
  /** `collect()` in Prometheus' text format, for a `/metrics` response. */
  render(): Promise<string>
  /** Stop listening to the app's events. */
  close(): void
}

/**
 * Count an app's task events in Prometheus metrics (`conveyor_*`): enqueued, started and finished runs by task, queue
 * and outcome, durations, dead letters by reason; with `queues` and `workers`, their depth and load when collected.
 * The app's task metrics (`createApp({ taskMetrics })`, recorded through `ctx.metrics`) are exported with them.
 * Metrics cover what this process saw: producers count their enqueues, workers their runs. `serveMetrics` puts them
 * on HTTP; the CLI's supervisor adds up its worker processes' (docs/operations.md).
 */
export function collectMetrics(app: App, options: MetricsOptions = {}): AppMetrics {
  const maxSeries = options.maxSeries ?? 1000
  if (!(Number.isInteger(maxSeries) && maxSeries >= 1)) {
    throw new InvalidOptionsError(`collectMetrics: maxSeries must be an integer ≥ 1, got ${maxSeries}`)
  }
  const statsTimeoutMs = options.statsTimeoutMs ?? 2000
  if (!(statsTimeoutMs > 0)) {
    throw new InvalidOptionsError(`collectMetrics: statsTimeoutMs must be > 0, got ${statsTimeoutMs}`)
  }
  const registry = new MetricsRegistry(maxSeries)
  const m = declareAppMetrics(registry, options.durationBuckets ?? DEFAULT_DURATION_BUCKETS)
  const offs = countTaskEvents(app.events, m)

  async function readQueue(queue: string): Promise<void> {
    try {
      const stats = await withTimeout(app.broker.stats(queue), statsTimeoutMs, () => new Error('timed out'))
      m.queueDepth.set([queue, 'ready'], stats.ready)
      m.queueDepth.set([queue, 'delayed'], stats.delayed)
      m.queueDepth.set([queue, 'dead'], stats.dead)
      if (stats.ready === 0) m.oldestWaiting.set([queue], 0)
      else if (stats.oldestReadyAt !== undefined) {
        m.oldestWaiting.set([queue], Math.max(0, Date.now() - stats.oldestReadyAt) / 1000)
      }
    } catch {
      m.statsErrors.inc([queue])
    }
  }

  async function collect(): Promise<MetricsSnapshot> {
    // Gauges are re-read from scratch: a queue that could not be read is absent rather than stale.
    m.queueDepth.reset()
    m.oldestWaiting.reset()
    m.active.reset()
    m.processed.reset()
    await Promise.all((options.queues ?? []).map(readQueue))
    for (const worker of options.workers ?? []) {
      m.active.set([worker.id], worker.active)
      m.processed.set([worker.id], worker.processed)
    }
    return snapshot()
  }

  /** Conveyor's families, then the app's task metrics (`ctx.metrics`). */
  function snapshot(): MetricsSnapshot {
    const own = registry.snapshot()
    const custom = app.taskMetrics?.families() ?? []
    return custom.length === 0 ? own : { at: own.at, families: [...own.families, ...custom] }
  }

  return {
    collect,
    snapshot,
    render: async () => renderPrometheus(await collect()),
    close() {
      for (const off of offs.splice(0)) off()
    },
  }
}
