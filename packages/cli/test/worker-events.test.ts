import { describe, expect, it } from 'vitest'
import { parseWorkerFlags } from '../src/commands/worker'
import { REDIS_APP, readEvents, redisSandboxes, start } from './helpers'

const sandboxes = redisSandboxes()

describe('conveyor worker --events on Redis', { timeout: 90_000 }, () => {
  it('--events: an app module that leaves events out publishes its workers’ events, which another process reads', async () => {
    const ctx = await sandboxes.setup('events-on')
    // TEST_EVENTS=off: the fixture app is made without `events`, as an app is by default.
    const worker = start(['worker', '--app', REDIS_APP, '--events', '-c', '2'], { ...ctx.env, TEST_EVENTS: 'off' })
    const job = await ctx.app.enqueue('work.echo', { n: 1 })
    const events = await readEvents(ctx.app, (seen) => seen.some((e) => e.type === 'task.succeeded' && e.id === job.id))
    const online = events.find((e) => e.type === 'worker.online')
    expect(online).toMatchObject({ type: 'worker.online', concurrency: 2 })
    expect(online && 'pid' in online && online.pid).not.toBe(process.pid)
    const ofJob = events.filter((e) => 'id' in e && e.id === job.id)
    expect(ofJob.map((e) => e.type)).toEqual(['task.enqueued', 'task.started', 'task.succeeded'])
    expect(ofJob[1]).toMatchObject({ task: 'work.echo', queue: 'default', attempt: 1, worker: online?.worker })
    worker.signal('SIGTERM')
    expect(await worker.exited).toBe(0)
  })

  it('--no-events: an app module that publishes publishes nothing from its workers', async () => {
    const ctx = await sandboxes.setup('events-off')
    const worker = start(['worker', '--app', REDIS_APP, '--no-events'], ctx.env)
    const job = await ctx.app.enqueue('work.echo', { n: 2 })
    expect(await job.result({ timeoutMs: 30_000 })).toEqual({ n: 2 })
    worker.signal('SIGTERM')
    expect(await worker.exited).toBe(0)
    // The worker has flushed and closed everything it would have published (worker.offline last).
    const page = await ctx.app.events.stream!.read('start')
    expect(page.events.map((e) => e.event.type)).toEqual(['task.enqueued'])
  })

  it('the flags: --events, --no-events, neither (the app module decides), not both', () => {
    const flags = (...args: string[]) => parseWorkerFlags(['--app', 'app.js', ...args], {})?.options.events
    expect(flags('--events')).toBe(true)
    expect(flags('--no-events')).toBe(false)
    expect(flags()).toBeUndefined()
    expect(() => flags('--events', '--no-events')).toThrow(/--events or --no-events, not both/)
  })
})
