import { collectMetrics, InvalidOptionsError, renderPrometheus } from '@conveyor/core'
import { mergeSnapshots } from '@conveyor/core/adapter'
import { describe, expect, it } from 'vitest'
import { useMemoryApps } from './helpers'

const newApp = useMemoryApps()

function seriesValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

const declare = {
  emails_sent_total: { type: 'counter', help: 'Emails handed to the provider.', labelNames: ['provider'] },
  email_render_seconds: { type: 'histogram', help: 'Template rendering time.', buckets: [0.01, 0.1, 1] },
  email_batch_size: { type: 'gauge', help: 'Recipients in the last batch.' },
} as const

describe('ctx.metrics: metrics declared by the app, recorded by tasks', () => {
  it('counts, times and sets from inside a task, exported beside Conveyor’s metrics with a task label', async () => {
    const app = newApp({ taskMetrics: { declare } })
    const metrics = collectMetrics(app)
    const send = app.task(
      'email.send',
      async (input: { to: string[]; provider: string }, ctx) => {
        const stop = ctx.metrics.histogram('email_render_seconds').startTimer()
        ctx.metrics.histogram('email_render_seconds').observe(0.05)
        ctx.metrics.gauge('email_batch_size').set(input.to.length)
        for (const _ of input.to) ctx.metrics.counter('emails_sent_total').inc({ provider: input.provider })
        ctx.metrics.counter('emails_sent_total').inc({ provider: input.provider }, 10)
        return stop() >= 0
      },
      { queue: 'mail' },
    )
    const worker = app.worker({ queues: ['mail'] })
    await worker.start()
    await (await send.enqueue({ to: ['a', 'b', 'c'], provider: 'ses' })).result()
    await (await send.enqueue({ to: ['d'], provider: 'smtp' })).result()

    // The result is stored before the run's events are emitted: wait for Conveyor's own count to catch up.
    let text = await metrics.render()
    for (let i = 0; i < 100 && !text.includes('outcome="succeeded"} 2'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
      text = await metrics.render()
    }
    expect(text).toContain('# TYPE emails_sent_total counter')
    expect(text).toContain('# HELP emails_sent_total Emails handed to the provider.')
    expect(seriesValue(text, 'emails_sent_total{task="email.send",provider="ses"}')).toBe(13)
    expect(seriesValue(text, 'emails_sent_total{task="email.send",provider="smtp"}')).toBe(11)
    expect(seriesValue(text, 'email_batch_size{task="email.send"}')).toBe(1)
    expect(seriesValue(text, 'email_render_seconds_bucket{task="email.send",le="0.1"}')).toBeGreaterThanOrEqual(2)
    expect(seriesValue(text, 'email_render_seconds_count{task="email.send"}')).toBe(4)
    // Beside Conveyor's own, in the same exposition.
    expect(seriesValue(text, 'conveyor_tasks_finished_total{task="email.send",queue="mail",outcome="succeeded"}')).toBe(
      2,
    )
    metrics.close()
  })

  it('keeps at most maxSeries label combinations per metric; the rest count under (other)', async () => {
    const app = newApp({ taskMetrics: { declare, maxSeries: 2 } })
    const tenant = app.task(
      'tenant.touch',
      async (n: number, ctx) => ctx.metrics.counter('emails_sent_total').inc({ provider: `p${n}` }),
      { queue: 'guard' },
    )
    const worker = app.worker({ queues: ['guard'] })
    await worker.start()
    for (const n of [1, 2, 3, 4, 5]) await (await tenant.enqueue(n)).result()
    const family = app.taskMetrics.families().find((f) => f.name === 'emails_sent_total')!
    expect(family.series).toHaveLength(3)
    const other = family.series.find((s) => s.labels[1] === '(other)')
    expect(other?.value).toBe(3)
  })

  it('a metric that is not declared, declared as another type, or an undeclared label fails the call, loudly', async () => {
    const app = newApp({ taskMetrics: { declare } })
    const metrics = app.taskMetrics.forTask('t')
    expect(() => metrics.counter('emails_snt_total')).toThrow(/no such metric; declare it/)
    expect(() => metrics.gauge('emails_sent_total')).toThrow(/declared as a counter/)
    expect(() => metrics.counter('emails_sent_total').inc({ region: 'eu' })).toThrow(InvalidOptionsError)
    expect(() => metrics.counter('emails_sent_total').inc(-1)).toThrow(/only go up/)
  })

  it('refuses declarations that would clash with Conveyor’s names or its task label', () => {
    expect(() => newApp({ taskMetrics: { declare: { conveyor_mine_total: { type: 'counter', help: 'x' } } } })).toThrow(
      /Conveyor's own/,
    )
    expect(() =>
      newApp({ taskMetrics: { declare: { mine_total: { type: 'counter', help: 'x', labelNames: ['task'] } } } }),
    ).toThrow(/added by Conveyor/)
    expect(() => newApp({ taskMetrics: { declare: {}, maxSeries: 0 } })).toThrow(InvalidOptionsError)
  })

  it('adds up across processes like Conveyor’s own (a supervisor merging its children’s snapshots)', async () => {
    const snapshots = await Promise.all(
      [2, 5].map(async (count) => {
        const app = newApp({ taskMetrics: { declare } })
        const metrics = collectMetrics(app)
        for (let i = 0; i < count; i++)
          app.taskMetrics.forTask('t').counter('emails_sent_total').inc({ provider: 'ses' })
        const snapshot = await metrics.collect()
        metrics.close()
        return snapshot
      }),
    )
    const text = renderPrometheus(mergeSnapshots(snapshots))
    expect(seriesValue(text, 'emails_sent_total{task="t",provider="ses"}')).toBe(7)
  })
})
