import type { AppEvents } from '../events/app-events'
import type { Counter, Gauge, Histogram, MetricsRegistry } from './registry'

/** Wait-time buckets in seconds: 5 ms to 1 hour (a backlog can hold tasks far longer than they run). */
export const DEFAULT_WAIT_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600,
]

/** The `conveyor_*` families `collectMetrics` keeps: task events as counted, queue and worker gauges as collected. */
export interface AppMetricFamilies {
  readonly enqueued: Counter
  readonly started: Counter
  readonly finished: Counter
  readonly duration: Histogram
  readonly dead: Counter
  readonly wait: Histogram
  readonly queueDepth: Gauge
  readonly oldestWaiting: Gauge
  readonly statsErrors: Counter
  readonly active: Gauge
  readonly processed: Gauge
}

/** Declares Conveyor's own families in `registry`. */
export function declareAppMetrics(registry: MetricsRegistry, durationBuckets: readonly number[]): AppMetricFamilies {
  return { ...declareTaskFamilies(registry, durationBuckets), ...declareGauges(registry) }
}

function declareTaskFamilies(registry: MetricsRegistry, durationBuckets: readonly number[]) {
  const tq = ['task', 'queue']
  return {
    enqueued: registry.counter('conveyor_tasks_enqueued_total', 'Tasks enqueued by this process.', tq),
    started: registry.counter('conveyor_tasks_started_total', 'Task runs started (every attempt).', tq),
    finished: registry.counter(
      'conveyor_tasks_finished_total',
      'Task runs by outcome: succeeded, retried (attempt failed, another scheduled), failed, dead-lettered, expired, revoked.',
      [...tq, 'outcome'],
    ),
    duration: registry.histogram(
      'conveyor_task_duration_seconds',
      'Run time of task attempts that ran, by outcome.',
      [...tq, 'outcome'],
      durationBuckets,
    ),
    dead: registry.counter('conveyor_tasks_dead_lettered_total', 'Messages dead-lettered by this process, by reason.', [
      ...tq,
      'reason',
    ]),
  }
}

function declareGauges(registry: MetricsRegistry) {
  return {
    queueDepth: registry.gauge(
      'conveyor_queue_messages',
      'Messages in a queue by state (ready, delayed, dead), as the broker reported at the last collection.',
      ['queue', 'state'],
      'latest',
    ),
    oldestWaiting: registry.gauge(
      'conveyor_queue_oldest_waiting_seconds',
      'Age of the oldest ready message of a queue (since it was enqueued, or due when delayed); 0 when none is ready. Absent when the broker cannot tell.',
      ['queue'],
      'latest',
    ),
    wait: registry.histogram(
      'conveyor_task_wait_seconds',
      'Time from enqueue (or from when it was due: delay, retry backoff) to the start of an attempt.',
      ['task', 'queue'],
      DEFAULT_WAIT_BUCKETS,
    ),
    statsErrors: registry.counter(
      'conveyor_queue_stats_errors_total',
      'Collections where a queue’s stats could not be read in time (its depth is left out then).',
      ['queue'],
    ),
    active: registry.gauge('conveyor_worker_tasks_active', 'Tasks running in the worker now.', ['worker']),
    processed: registry.gauge(
      'conveyor_worker_tasks_processed',
      'Deliveries the worker has finished since it started (resets with the process).',
      ['worker'],
    ),
  }
}

/** Counts the app's task events into the families; returns what stops listening. */
export function countTaskEvents(events: AppEvents, m: AppMetricFamilies): Array<() => void> {
  const ran = (e: { task: string; queue: string; durationMs: number }, outcome: string): void => {
    m.finished.inc([e.task, e.queue, outcome])
    m.duration.observe([e.task, e.queue, outcome], e.durationMs / 1000)
  }
  return [
    events.on('task.enqueued', (e) => m.enqueued.inc([e.task, e.queue])),
    events.on('task.started', (e) => {
      m.started.inc([e.task, e.queue])
      // Waiting counts from when the attempt could run: a delayed or retried one was not waiting before it was due.
      m.wait.observe([e.task, e.queue], Math.max(0, e.at - (e.notBefore ?? e.enqueuedAt)) / 1000)
    }),
    events.on('task.succeeded', (e) => ran(e, 'succeeded')),
    events.on('task.retried', (e) => ran(e, 'retried')),
    events.on('task.failed', (e) => ran(e, 'failed')),
    events.on('task.dead-lettered', (e) => {
      ran(e, 'dead-lettered')
      m.dead.inc([e.task, e.queue, e.reason])
    }),
    events.on('task.expired', (e) => m.finished.inc([e.task, e.queue, 'expired'])),
    events.on('task.revoked', (e) => m.finished.inc([e.task, e.queue, 'revoked'])),
  ]
}
