import type { App } from '../app/create-app'
import { InvalidOptionsError } from '../errors/invalid-options-error'
import type { Worker } from '../worker/worker'
import { renderPrometheus } from './prometheus'
import { MetricsRegistry } from './registry'
import type { MetricsSnapshot } from './snapshot'

/** Task duration buckets in seconds: 5 ms to 5 min, for jobs from cache writes to report builds. */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
]

/** Wait-time buckets in seconds: 5 ms to 1 hour (a backlog can hold tasks far longer than they run). */
export const DEFAULT_WAIT_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600,
]

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
  const tq = ['task', 'queue']
  const enqueued = registry.counter('conveyor_tasks_enqueued_total', 'Tasks enqueued by this process.', tq)
  const started = registry.counter('conveyor_tasks_started_total', 'Task runs started (every attempt).', tq)
  const finished = registry.counter(
    'conveyor_tasks_finished_total',
    'Task runs by outcome: succeeded, retried (attempt failed, another scheduled), failed, dead-lettered, expired, revoked.',
    [...tq, 'outcome'],
  )
  const duration = registry.histogram(
    'conveyor_task_duration_seconds',
    'Run time of task attempts that ran, by outcome.',
    [...tq, 'outcome'],
    options.durationBuckets ?? DEFAULT_DURATION_BUCKETS,
  )
  const dead = registry.counter(
    'conveyor_tasks_dead_lettered_total',
    'Messages dead-lettered by this process, by reason.',
    [...tq, 'reason'],
  )
  const queueDepth = registry.gauge(
    'conveyor_queue_messages',
    'Messages in a queue by state (ready, delayed, dead), as the broker reported at the last collection.',
    ['queue', 'state'],
    'latest',
  )
  const oldestWaiting = registry.gauge(
    'conveyor_queue_oldest_waiting_seconds',
    'Age of the oldest ready message of a queue (since it was enqueued, or due when delayed); 0 when none is ready. Absent when the broker cannot tell.',
    ['queue'],
    'latest',
  )
  const wait = registry.histogram(
    'conveyor_task_wait_seconds',
    'Time from enqueue (or from when it was due: delay, retry backoff) to the start of an attempt.',
    tq,
    DEFAULT_WAIT_BUCKETS,
  )
  const statsErrors = registry.counter(
    'conveyor_queue_stats_errors_total',
    'Collections where a queue’s stats could not be read in time (its depth is left out then).',
    ['queue'],
  )
  const active = registry.gauge('conveyor_worker_tasks_active', 'Tasks running in the worker now.', ['worker'])
  const processed = registry.gauge(
    'conveyor_worker_tasks_processed',
    'Deliveries the worker has finished since it started (resets with the process).',
    ['worker'],
  )

  const offs = [
    app.events.on('task.enqueued', (e) => enqueued.inc([e.task, e.queue])),
    app.events.on('task.started', (e) => {
      started.inc([e.task, e.queue])
      // Waiting counts from when the attempt could run: a delayed or retried one was not waiting before it was due.
      wait.observe([e.task, e.queue], Math.max(0, e.at - (e.notBefore ?? e.enqueuedAt)) / 1000)
    }),
    app.events.on('task.succeeded', (e) => ran(e, 'succeeded')),
    app.events.on('task.retried', (e) => ran(e, 'retried')),
    app.events.on('task.failed', (e) => ran(e, 'failed')),
    app.events.on('task.dead-lettered', (e) => {
      ran(e, 'dead-lettered')
      dead.inc([e.task, e.queue, e.reason])
    }),
    app.events.on('task.expired', (e) => finished.inc([e.task, e.queue, 'expired'])),
    app.events.on('task.revoked', (e) => finished.inc([e.task, e.queue, 'revoked'])),
  ]
  function ran(e: { task: string; queue: string; durationMs: number }, outcome: string): void {
    finished.inc([e.task, e.queue, outcome])
    duration.observe([e.task, e.queue, outcome], e.durationMs / 1000)
  }

  async function readQueue(queue: string): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), statsTimeoutMs)
    })
    try {
      const stats = await Promise.race([app.broker.stats(queue), timeout])
      queueDepth.set([queue, 'ready'], stats.ready)
      queueDepth.set([queue, 'delayed'], stats.delayed)
      queueDepth.set([queue, 'dead'], stats.dead)
      if (stats.ready === 0) oldestWaiting.set([queue], 0)
      else if (stats.oldestReadyAt !== undefined) {
        oldestWaiting.set([queue], Math.max(0, Date.now() - stats.oldestReadyAt) / 1000)
      }
    } catch {
      statsErrors.inc([queue])
    } finally {
      clearTimeout(timer)
    }
  }

  async function collect(): Promise<MetricsSnapshot> {
    // Gauges are re-read from scratch: a queue that could not be read is absent rather than stale.
    queueDepth.reset()
    oldestWaiting.reset()
    active.reset()
    processed.reset()
    await Promise.all((options.queues ?? []).map(readQueue))
    for (const worker of options.workers ?? []) {
      active.set([worker.id], worker.active)
      processed.set([worker.id], worker.processed)
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
