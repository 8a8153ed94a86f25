import {
  type Broker,
  collectMetrics,
  createApp,
  fixed,
  renderPrometheus,
  serveMetrics,
  UnrecoverableError,
} from '@conveyor/core'
import {
  createMemoryBroker,
  MetricsRegistry,
  type MetricsSnapshot,
  mergeSnapshots,
  PROMETHEUS_CONTENT_TYPE,
} from '@conveyor/core/adapter'
import { until } from '@conveyor/test-support'
import { describe, expect, it } from 'vitest'
import { useMemoryApps } from './helpers'

const newApp = useMemoryApps()

/** The value of one series in rendered text, or undefined when the line is absent. */
function seriesValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('collectMetrics on a running app', () => {
  it('counts enqueues, runs by outcome, durations and dead letters by reason, as Prometheus text', async () => {
    const app = newApp()
    const metrics = collectMetrics(app)
    const ok = app.task('m.ok', async (n: number) => n * 2, { queue: 'work' })
    let flakyCalls = 0
    const flaky = app.task(
      'm.flaky',
      async () => {
        if (++flakyCalls === 1) throw new Error('once')
        return 'fine'
      },
      { queue: 'work', retry: { maxAttempts: 3, backoff: fixed(10) } },
    )
    const bad = app.task(
      'm.bad',
      async () => {
        throw new UnrecoverableError('no')
      },
      { queue: 'work' },
    )
    const quiet = app.task(
      'm.quiet',
      async () => {
        throw new Error('swallowed')
      },
      { queue: 'work', retry: { maxAttempts: 1, deadLetter: false } },
    )
    const jobs = [
      ...(await Promise.all([1, 2, 3].map((n) => ok.enqueue(n)))),
      await flaky.enqueue(null),
      await bad.enqueue(null),
      await quiet.enqueue(null),
    ]
    const worker = app.worker({ queues: ['work'], concurrency: 4 })
    await worker.start()
    await Promise.all(jobs.map((job) => job.result({ timeoutMs: 5000 }).catch(() => undefined)))

    const text = await metrics.render()
    expect(text).toContain('# TYPE conveyor_tasks_finished_total counter')
    expect(text).toContain('# TYPE conveyor_task_duration_seconds histogram')
    expect(seriesValue(text, 'conveyor_tasks_enqueued_total{task="m.ok",queue="work"}')).toBe(3)
    expect(seriesValue(text, 'conveyor_tasks_started_total{task="m.ok",queue="work"}')).toBe(3)
    expect(seriesValue(text, 'conveyor_tasks_started_total{task="m.flaky",queue="work"}')).toBe(2)
    const finished = (task: string, outcome: string) =>
      seriesValue(text, `conveyor_tasks_finished_total{task="${task}",queue="work",outcome="${outcome}"}`)
    expect(finished('m.ok', 'succeeded')).toBe(3)
    expect(finished('m.flaky', 'retried')).toBe(1)
    expect(finished('m.flaky', 'succeeded')).toBe(1)
    expect(finished('m.bad', 'dead-lettered')).toBe(1)
    expect(finished('m.quiet', 'failed')).toBe(1)
    expect(
      seriesValue(text, 'conveyor_tasks_dead_lettered_total{task="m.bad",queue="work",reason="unrecoverable"}'),
    ).toBe(1)
    // Every run that ran is in the histogram: the +Inf bucket and _count equal the runs, sums are non-negative.
    const h = 'conveyor_task_duration_seconds'
    expect(seriesValue(text, `${h}_bucket{task="m.ok",queue="work",outcome="succeeded",le="+Inf"}`)).toBe(3)
    expect(seriesValue(text, `${h}_count{task="m.ok",queue="work",outcome="succeeded"}`)).toBe(3)
    expect(seriesValue(text, `${h}_sum{task="m.ok",queue="work",outcome="succeeded"}`)).toBeGreaterThanOrEqual(0)
    metrics.close()
  })

  it('reports queue depth from the broker and worker load, re-read on every collection', async () => {
    const app = newApp()
    const release: (() => void)[] = []
    const slow = app.task('m.slow', () => new Promise<void>((resolve) => release.push(resolve)), { queue: 'slow' })
    const worker = app.worker({ queues: ['slow'], concurrency: 2 })
    const metrics = collectMetrics(app, { queues: ['slow'], workers: [worker] })
    for (let i = 0; i < 5; i++) await slow.enqueue(null)
    await slow.enqueue(null, { delayMs: 60_000 })

    let text = await metrics.render()
    expect(seriesValue(text, 'conveyor_queue_messages{queue="slow",state="ready"}')).toBe(5)
    expect(seriesValue(text, 'conveyor_queue_messages{queue="slow",state="delayed"}')).toBe(1)
    expect(seriesValue(text, 'conveyor_queue_messages{queue="slow",state="dead"}')).toBe(0)
    expect(seriesValue(text, `conveyor_worker_tasks_active{worker="${worker.id}"}`)).toBe(0)

    await worker.start()
    await until(() => release.length === 2)
    text = await metrics.render()
    expect(seriesValue(text, 'conveyor_queue_messages{queue="slow",state="ready"}')).toBe(3)
    expect(seriesValue(text, `conveyor_worker_tasks_active{worker="${worker.id}"}`)).toBe(2)
    for (const done of release.splice(0)) done()
    await until(() => worker.processed === 2)
    expect(seriesValue(await metrics.render(), `conveyor_worker_tasks_processed{worker="${worker.id}"}`)).toBe(2)
    await worker.stop({ timeoutMs: 0 })
    metrics.close()
  })

  it('leaves out a queue whose stats do not come in time, counts the miss, and still answers', async () => {
    const memory = createMemoryBroker()
    // The memory broker, with stats that never answer for one queue (a broker that hangs).
    const broker: Broker = Object.assign(Object.create(memory) as Broker, {
      stats: (queue: string) => (queue === 'stuck' ? new Promise<never>(() => {}) : memory.stats(queue)),
    })
    const app = createApp({ broker, logger: false })
    const metrics = collectMetrics(app, { queues: ['stuck', 'fine'], statsTimeoutMs: 50 })
    const started = Date.now()
    const text = await metrics.render()
    expect(Date.now() - started).toBeLessThan(2000)
    expect(text).not.toContain('queue="stuck",state=')
    expect(seriesValue(text, 'conveyor_queue_messages{queue="fine",state="ready"}')).toBe(0)
    expect(seriesValue(text, 'conveyor_queue_stats_errors_total{queue="stuck"}')).toBe(1)
    metrics.close()
    await app.close()
  })

  it('stops counting once closed', async () => {
    const app = newApp()
    const metrics = collectMetrics(app)
    const t = app.task('m.after', async () => undefined)
    await t.enqueue(null)
    metrics.close()
    await t.enqueue(null)
    expect(seriesValue(await metrics.render(), 'conveyor_tasks_enqueued_total{task="m.after",queue="default"}')).toBe(1)
  })

  it('refuses wrong options with a clear error', () => {
    const app = newApp()
    expect(() => collectMetrics(app, { maxSeries: 0 })).toThrow(/maxSeries must be an integer ≥ 1/)
    expect(() => collectMetrics(app, { durationBuckets: [1, 0.5] })).toThrow(/ascending/)
  })
})

describe('metrics registry and text format', () => {
  it('escapes label values and help text, and renders histograms cumulatively', () => {
    const registry = new MetricsRegistry()
    registry.counter('x_total', 'help with \\ and\nnewline', ['name']).inc(['a "quoted"\\path\nnext'], 2)
    const h = registry.histogram('x_seconds', 'h', ['k'], [0.1, 1])
    for (const v of [0.05, 0.1, 0.5, 3]) h.observe(['v'], v)
    const text = renderPrometheus(registry.snapshot())
    expect(text).toContain('# HELP x_total help with \\\\ and\\nnewline')
    expect(text).toContain('x_total{name="a \\"quoted\\"\\\\path\\nnext"} 2')
    expect(text).toContain('x_seconds_bucket{k="v",le="0.1"} 2') // le is inclusive
    expect(text).toContain('x_seconds_bucket{k="v",le="1"} 3')
    expect(text).toContain('x_seconds_bucket{k="v",le="+Inf"} 4')
    expect(text).toContain('x_seconds_count{k="v"} 4')
    expect(seriesValue(text, 'x_seconds_sum{k="v"}')).toBeCloseTo(3.65)
    expect(text.endsWith('\n')).toBe(true)
  })

  it('folds label sets past maxSeries into (other) instead of growing without bound', () => {
    const registry = new MetricsRegistry(2)
    const c = registry.counter('tasks_total', 'by task', ['task'])
    for (const task of ['a', 'b', 'c', 'd', 'a']) c.inc([task])
    const text = renderPrometheus(registry.snapshot())
    expect(seriesValue(text, 'tasks_total{task="a"}')).toBe(2)
    expect(seriesValue(text, 'tasks_total{task="b"}')).toBe(1)
    expect(seriesValue(text, 'tasks_total{task="(other)"}')).toBe(2)
    expect(text).not.toContain('task="c"')
  })

  it('rejects invalid names, label names, duplicate registration and a counter going down', () => {
    const registry = new MetricsRegistry()
    expect(() => registry.counter('bad-name', 'h')).toThrow(/not a valid Prometheus metric name/)
    expect(() => registry.counter('ok_total', 'h', ['le'])).toThrow(/not a usable label name/)
    const c = registry.counter('ok_total', 'h', ['a'])
    expect(() => registry.gauge('ok_total', 'h')).toThrow(/already registered/)
    expect(() => c.inc(['x'], -1)).toThrow(/can only go up/)
    expect(() => c.inc([])).toThrow(/takes labels \(a\)/)
  })

  it('merges processes: counters and histograms add, sum gauges add, latest gauges take the newest reading', () => {
    const one = (at: number, n: number, depth: number, obs: number): MetricsSnapshot => {
      const r = new MetricsRegistry()
      r.counter('runs_total', 'h', ['task']).inc(['t'], n)
      r.gauge('active', 'h', ['w']).set(['all'], n)
      r.gauge('depth', 'h', ['queue'], 'latest').set(['q'], depth)
      r.histogram('dur_seconds', 'h', [], [1]).observe([], obs)
      return r.snapshot(at)
    }
    const merged = mergeSnapshots([one(2000, 3, 7, 0.5), one(1000, 4, 9, 2)])
    const text = renderPrometheus(merged)
    expect(seriesValue(text, 'runs_total{task="t"}')).toBe(7)
    expect(seriesValue(text, 'active{w="all"}')).toBe(7)
    expect(seriesValue(text, 'depth{queue="q"}')).toBe(7) // from the snapshot taken at 2000
    expect(seriesValue(text, 'dur_seconds_bucket{le="1"}')).toBe(1)
    expect(seriesValue(text, 'dur_seconds_count')).toBe(2)
    expect(seriesValue(text, 'dur_seconds_sum')).toBe(2.5)
    // A family whose shape differs (other labels: another code version) is not mixed in.
    const other = new MetricsRegistry()
    other.counter('runs_total', 'h', ['task', 'queue']).inc(['t', 'q'], 100)
    expect(seriesValue(renderPrometheus(mergeSnapshots([merged, other.snapshot()])), 'runs_total{task="t"}')).toBe(7)
    // Snapshots are plain data: they survive JSON (the supervisor gets them over IPC).
    expect(renderPrometheus(JSON.parse(JSON.stringify(merged)) as MetricsSnapshot)).toBe(text)
  })
})

describe('serveMetrics', () => {
  it('serves the text at GET /metrics with Prometheus’ content type; other paths 404, other methods 405', async () => {
    const app = newApp()
    const metrics = collectMetrics(app)
    await app.task('m.served', async () => undefined).enqueue(null)
    const server = await serveMetrics(metrics, { port: 0, host: '127.0.0.1' })
    try {
      const base = `http://127.0.0.1:${server.port}`
      const res = await fetch(`${base}/metrics`)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe(PROMETHEUS_CONTENT_TYPE)
      expect(seriesValue(await res.text(), 'conveyor_tasks_enqueued_total{task="m.served",queue="default"}')).toBe(1)
      expect((await fetch(`${base}/other`)).status).toBe(404)
      expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405)
    } finally {
      await server.close()
      metrics.close()
    }
  })
})
