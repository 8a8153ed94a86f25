import { collectMetrics } from '@conveyor/core'
import type { MetricsSnapshot } from '@conveyor/core/adapter'
import { describe, expect, it } from 'vitest'
import { sleep, useMemoryApps } from './helpers'

const makeApp = useMemoryApps()

const family = (snapshot: MetricsSnapshot, name: string) => snapshot.families.find((f) => f.name === name)!

describe('wait-time metrics with a controlled backlog', () => {
  it('reports the oldest waiting age per queue and observes enqueue-to-start waits per task and queue', async () => {
    const app = makeApp()
    const ran: number[] = []
    const job = app.task('wait.job', (n: number) => void ran.push(n), { queue: 'backlog' })
    const metrics = collectMetrics(app, { queues: ['backlog', 'idle'] })
    const enqueuedAt = Date.now()
    for (let n = 0; n < 3; n++) await job.enqueue(n)
    await sleep(400)
    const before = await metrics.collect()
    const ages = family(before, 'conveyor_queue_oldest_waiting_seconds').series
    const age = ages.find((s) => s.labels[0] === 'backlog')!.value!
    expect(age).toBeGreaterThanOrEqual(0.4)
    expect(age).toBeLessThanOrEqual((Date.now() - enqueuedAt) / 1000)
    expect(ages.find((s) => s.labels[0] === 'idle')!.value).toBe(0)

    // A delayed run waits from when it is due, not from its enqueue.
    await job.enqueue(3, { delayMs: 300 })
    const worker = app.worker({ queues: ['backlog'] })
    await worker.start()
    await sleep(600)
    expect(ran.sort()).toEqual([0, 1, 2, 3])
    const after = await metrics.collect()
    const wait = family(after, 'conveyor_task_wait_seconds')
    const series = wait.series.find((s) => s.labels.join() === 'wait.job,backlog')!
    const counts = series.counts!
    expect(counts.reduce((a, b) => a + b, 0)).toBe(4)
    const le = (bound: number) => counts.slice(0, wait.buckets!.indexOf(bound) + 1).reduce((a, b) => a + b, 0)
    // Three waited about 400 ms (the 0.5 s bucket, not below 0.25 s); the delayed one started within 250 ms of due.
    expect(le(0.25)).toBe(1)
    expect(le(1)).toBe(4)
    expect(series.sum!).toBeGreaterThanOrEqual(1.2)
    expect(family(after, 'conveyor_queue_oldest_waiting_seconds').series[0]!.value).toBe(0)
    await worker.stop()
    metrics.close()
  })
})
