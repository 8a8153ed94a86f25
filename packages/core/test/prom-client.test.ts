import { collectMetrics, InvalidOptionsError, registerPromClientMetrics } from '@conveyor/core'
import { Counter, type OpenMetricsContentType, Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { useMemoryApps } from './helpers'

const newApp = useMemoryApps()

/** The value of one series in rendered text, or undefined when the line is absent. */
function seriesValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('registerPromClientMetrics: Conveyor in the application’s prom-client registry', () => {
  it('serves the app’s own metrics and Conveyor’s from one registry, histograms and default labels included', async () => {
    const app = newApp()
    const registry = new Registry()
    registry.setDefaultLabels({ service: 'billing' })
    const requests = new Counter({ name: 'http_requests_total', help: 'HTTP requests.', registers: [registry] })
    requests.inc(3)
    const double = app.task('p.double', async (n: number) => n * 2, { queue: 'pc' })
    const worker = app.worker({ queues: ['pc'] })
    const metrics = collectMetrics(app, { queues: ['pc'], workers: [worker] })
    registerPromClientMetrics(registry, metrics)
    await worker.start()
    const handles = await Promise.all([1, 2, 3].map((n) => double.enqueue(n)))
    await Promise.all(handles.map((h) => h.result()))

    const text = await registry.metrics()
    expect(registry.contentType).toBe('text/plain; version=0.0.4; charset=utf-8')
    expect(seriesValue(text, 'http_requests_total{service="billing"}')).toBe(3)
    expect(text).toContain('# TYPE conveyor_tasks_finished_total counter')
    expect(
      seriesValue(
        text,
        'conveyor_tasks_finished_total{task="p.double",queue="pc",outcome="succeeded",service="billing"}',
      ),
    ).toBe(3)
    // Histograms render as prom-client renders its own: cumulative buckets ending in +Inf, _sum and _count.
    const labels = 'task="p.double",queue="pc",outcome="succeeded"'
    expect(seriesValue(text, `conveyor_task_duration_seconds_bucket{${labels},le="+Inf",service="billing"}`)).toBe(3)
    expect(seriesValue(text, `conveyor_task_duration_seconds_count{${labels},service="billing"}`)).toBe(3)
    expect(seriesValue(text, `conveyor_task_duration_seconds_sum{${labels},service="billing"}`)).toBeGreaterThanOrEqual(
      0,
    )
    // Read at scrape time: the queue is empty now and the worker is known.
    expect(seriesValue(text, 'conveyor_queue_messages{queue="pc",state="ready",service="billing"}')).toBe(0)
    expect(seriesValue(text, `conveyor_worker_tasks_processed{worker="${worker.id}",service="billing"}`)).toBe(3)

    // Same numbers as Conveyor's own exposition.
    const own = await metrics.render()
    expect(seriesValue(own, `conveyor_tasks_finished_total{task="p.double",queue="pc",outcome="succeeded"}`)).toBe(3)
    metrics.close()
  })

  it('reads the broker once per scrape, however many families are registered', async () => {
    const app = newApp()
    let statsCalls = 0
    const stats = app.broker.stats.bind(app.broker)
    app.broker.stats = (queue) => {
      statsCalls++
      return stats(queue)
    }
    const registry = new Registry()
    const metrics = collectMetrics(app, { queues: ['a', 'b'] })
    registerPromClientMetrics(registry, metrics)
    await app.broker.declare({ name: 'a' })
    await app.broker.declare({ name: 'b' })
    await registry.metrics()
    expect(statsCalls).toBe(2)
    await Promise.all([registry.metrics(), registry.metrics()])
    expect(statsCalls).toBeLessThanOrEqual(6)
    expect(statsCalls).toBeGreaterThanOrEqual(4)
    metrics.close()
  })

  it('renders OpenMetrics when the registry does, with counters named as OpenMetrics wants', async () => {
    const app = newApp()
    app.task('p.om', async () => 1, { queue: 'om' })
    const registry = new Registry<OpenMetricsContentType>()
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE)
    const metrics = collectMetrics(app)
    registerPromClientMetrics(registry, metrics)
    await app.enqueue('p.om', null)
    const text = await registry.metrics()
    expect(text).toContain('# TYPE conveyor_tasks_enqueued counter')
    expect(seriesValue(text, 'conveyor_tasks_enqueued_total{task="p.om",queue="om"}')).toBe(1)
    expect(text.endsWith('# EOF\n')).toBe(true)
    metrics.close()
  })

  it('refuses a name the registry already has, registering nothing; the returned function unregisters', async () => {
    const app = newApp()
    const registry = new Registry()
    new Counter({ name: 'conveyor_tasks_started_total', help: 'mine', registers: [registry] })
    const metrics = collectMetrics(app)
    expect(() => registerPromClientMetrics(registry, metrics)).toThrow(InvalidOptionsError)
    expect(registry.getMetricsAsArray()).toHaveLength(1)

    const other = new Registry()
    const unregister = registerPromClientMetrics(other, metrics)
    expect(other.getSingleMetric('conveyor_tasks_enqueued_total')).toBeDefined()
    unregister()
    expect(other.getMetricsAsArray()).toHaveLength(0)
    metrics.close()
  })
})
