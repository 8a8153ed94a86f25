import { createApp, createScheduler, type SchedulerClock } from '@conveyor/core'
import { createMemoryCoordination } from '@conveyor/core/adapter'
import { describe, expect, it } from 'vitest'

describe('scheduler', () => {
  it('two schedulers side by side fire each tick once', async () => {
    const store = createMemoryCoordination()
    const app = createApp({ broker: 'memory://', logger: false })
    const enqueued: string[] = []
    app.events.on('task.enqueued', (e) => enqueued.push(e.id))
    const schedules = [{ name: 'beat', everyMs: 100, task: 'beat.task', input: { x: 1 } }]
    const a = createScheduler(app, { coordination: store, schedules, id: 'a' })
    const b = createScheduler(app, { coordination: store, schedules, id: 'b' })
    await Promise.all([a.start(), b.start()])
    await new Promise((r) => setTimeout(r, 750))
    await Promise.all([a.stop(), b.stop()])
    expect(enqueued.length).toBeGreaterThanOrEqual(6)
    expect(new Set(enqueued).size).toBe(enqueued.length)
    const ticks = enqueued.map((id) => Number(id.split(':')[2])).sort((x, y) => x - y)
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]! - ticks[i - 1]!).toBe(100)
    const queued = await app.broker.stats('default')
    expect(queued.ready).toBe(enqueued.length)
    await app.close()
  })

  it('applies the misfire policy after downtime, with an injected clock', async () => {
    let now = Date.UTC(2026, 0, 1, 0, 0, 0)
    const clock: SchedulerClock = { now: () => now, sleep: async () => undefined }
    const store = createMemoryCoordination({ now: () => now })
    const app = createApp({ broker: 'memory://', logger: false })
    const schedules = [
      { name: 'skip', cron: '*/10 * * * * *', task: 'a' },
      { name: 'once', cron: '*/10 * * * * *', task: 'b', misfire: 'run-once' as const },
    ]
    const s = createScheduler(app, { coordination: store, schedules, clock })
    expect((await s.tick()).map((f) => f.schedule)).toEqual(['skip', 'once']) // 00:00:00 is on time
    now += 10_000
    expect(await s.tick()).toHaveLength(2)
    now += 60_000 + 200 // the process was down for a minute
    const fired = await s.tick()
    expect(fired.map((f) => [f.schedule, new Date(f.tickAt).toISOString().slice(11, 19), f.caughtUp])).toEqual([
      ['skip', '00:01:10', 0],
      ['once', '00:01:00', 5],
      ['once', '00:01:10', 0],
    ])
    // A second scheduler starting now sees the fleet's last tick and fires nothing again.
    const late = createScheduler(app, { coordination: store, schedules, clock })
    expect(await late.tick()).toEqual([])
    const list = await late.list(2)
    expect(list[0]).toMatchObject({ name: 'skip', cron: '*/10 * * * * *', timezone: 'UTC', misfire: 'skip' })
    expect(list[0]?.nextTicks.map((t) => new Date(t).toISOString())).toEqual([
      '2026-01-01T00:01:20.000Z',
      '2026-01-01T00:01:30.000Z',
    ])
    await app.close()
  })
})
