import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { until } from '@conveyor/test-support'
import { beforeAll, describe, expect, it } from 'vitest'
import { appModule, REDIS_APP, redisSandboxes, type Started, start } from './helpers'

const sandboxes = redisSandboxes()
const setup = (what: string) => sandboxes.setup(what)

const msg = (text: string) => (line: Record<string, unknown>) => String(line.msg).includes(text)

describe('conveyor worker lifecycle (supervised, on Redis)', { timeout: 120_000 }, () => {
  // One supervisor for the crash and the drain test (process start-up dominates their time): it crashes and
  // restarts first, then drains on SIGTERM.
  describe('one supervisor: crash, then drain', () => {
    let ctx: Awaited<ReturnType<typeof setup>>
    let worker: Started
    beforeAll(async () => {
      ctx = await setup('crash-drain')
      worker = start(['worker', '--app', REDIS_APP, '--restart-backoff', '100', '-c', '2'], ctx.env)
    })

    it('restarts a crashed worker process and its task is redelivered', async () => {
      const job = await ctx.app.enqueue('work.crash-once', { marker: join(ctx.dir, 'crashed') })
      expect(await job.result({ timeoutMs: 45_000 })).toBe('survived')
      const died = await worker.waitForLog(msg('worker process died'))
      expect(died).toMatchObject({ code: 1 })
      const runs = ctx.journal().filter((e) => e.task === 'work.crash-once')
      expect(runs).toHaveLength(2)
      expect(runs[0]!.pid).not.toBe(runs[1]!.pid)
      expect(runs[1]!.deliveryCount).toBe(2)
    })

    it('SIGTERM drains: running tasks finish, queued ones stay on the queue, exit 0', async () => {
      await until(() => worker.logs().filter(msg('worker ready')).length === 2, 30_000, 'the replacement ready')
      for (let n = 0; n < 5; n++) await ctx.app.enqueue('work.slow', { ms: 700, n })
      const starts = () => ctx.journal().filter((e) => e.event === 'start')
      await until(() => starts().length === 2, 30_000, 'two tasks running')
      worker.signal('SIGTERM')
      expect(await worker.exited).toBe(0)
      const started = starts().map((e) => e.n)
      const ended = ctx
        .journal()
        .filter((e) => e.event === 'end')
        .map((e) => e.n)
      expect(started).toHaveLength(2)
      expect(ended.sort()).toEqual(started.sort())
      const stats = await ctx.app.broker.stats('default')
      expect(stats).toMatchObject({ ready: 3, inFlight: 0 })
    })
  })

  it('recycles a process after N tasks, health endpoints answer', async () => {
    const { env, app } = await setup('recycle')
    const port = 20_000 + Math.floor(Math.random() * 20_000)
    const worker = start(
      ['worker', '--app', REDIS_APP, '--max-tasks-per-child', '2', '--health-port', String(port), '-c', '1'],
      env,
    )
    await worker.waitForLog(msg('worker ready'))
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`)
    expect(ready.status).toBe(200)
    expect(((await ready.json()) as { workers: unknown[] }).workers).toHaveLength(1)
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200)
    const jobs = await Promise.all(Array.from({ length: 5 }, (_, n) => app.enqueue('work.echo', { n })))
    for (const job of jobs) await job.result({ timeoutMs: 45_000 })
    await until(() => worker.logs().filter(msg('recycling worker process')).length >= 2, 30_000, 'two recycles')
    worker.signal('SIGTERM')
    expect(await worker.exited).toBe(0)
  })

  it('a process failing at start-up is backed off and reported, not restarted in a tight loop', async () => {
    const { env, dir } = await setup('startup')
    const broken = join(dir, 'broken-app.mjs')
    // Loads fine in the supervisor, throws in every worker child (before loading the app, so each failure is quick).
    writeFileSync(
      broken,
      [
        `if (process.env.CONVEYOR_CHILD_CONFIG) throw new Error('database password missing')`,
        `export const { app } = await import(${JSON.stringify(appModule(REDIS_APP))})`,
      ].join('\n'),
    )
    const worker = start(['worker', '--app', broken, '--restart-backoff', '100'], env)
    await worker.waitForLog((l) => l.level === 50 && msg('failed at start-up')(l), 60_000)
    const failures = worker.logs().filter(msg('failed at start-up'))
    expect(failures[0]).toMatchObject({ retryInMs: 100 })
    expect(failures[0]!.error).toMatch(/^cannot load app module .*broken-app\.mjs: database password missing$/)
    expect(failures.map((f) => f.retryInMs)).toEqual([100, 200, 400].slice(0, failures.length))
    // Not a tight loop: each start waited at least the backoff announced after the previous failure (pino's time).
    const starts = worker.logs().filter(msg('worker process started'))
    expect(starts.length).toBeGreaterThanOrEqual(failures.length)
    for (let i = 0; i + 1 < Math.min(starts.length, failures.length); i++) {
      const gap = (starts[i + 1]!.time as number) - (starts[i]!.time as number)
      expect(gap).toBeGreaterThanOrEqual(failures[i]!.retryInMs as number)
    }
    worker.signal('SIGTERM')
    expect(await worker.exited).toBe(0)
  })

  it('SIGTERM with a --drain-timeout past 24.8 days still lets running tasks finish', async () => {
    const { env, app, journal } = await setup('long-drain')
    const worker = start(['worker', '--app', REDIS_APP, '-c', '2', '--drain-timeout', '3000000000'], env)
    await worker.waitForLog(msg('worker ready'))
    for (let n = 0; n < 2; n++) await app.enqueue('work.slow', { ms: 1500, n })
    await until(() => journal().filter((e) => e.event === 'start').length === 2, 30_000, 'two tasks running')
    worker.signal('SIGTERM')
    expect(await worker.exited).toBe(0)
    // The backstop past the drain was a plain setTimeout: over 2³¹−1 ms it fired at once and stopped everything.
    expect(worker.logs().filter(msg('stopping now'))).toEqual([])
    expect(journal().filter((e) => e.event === 'end')).toHaveLength(2)
    expect(await app.broker.stats('default')).toMatchObject({ ready: 0, inFlight: 0 })
  })

  it('a second SIGTERM stops at once and gives running tasks back to the queue', async () => {
    const { env, app, journal } = await setup('hardstop')
    const worker = start(['worker', '--app', REDIS_APP, '-c', '2'], env)
    await worker.waitForLog(msg('worker ready'))
    for (let n = 0; n < 3; n++) await app.enqueue('work.slow', { ms: 20_000, n })
    await until(() => journal().filter((e) => e.event === 'start').length === 2, 30_000, 'two tasks running')
    const stoppedAt = Date.now()
    worker.signal('SIGTERM')
    await worker.waitForLog(msg('stopping: workers finish running tasks'))
    worker.signal('SIGTERM')
    expect(await worker.exited).toBe(0)
    expect(Date.now() - stoppedAt).toBeLessThan(10_000)
    expect(journal().filter((e) => e.event === 'end')).toEqual([])
    // Released, not left to lease expiry: all three are ready again at once.
    expect(await app.broker.stats('default')).toMatchObject({ ready: 3, inFlight: 0 })
  })

  it('--inline runs one unsupervised worker in the CLI process and drains on SIGTERM', async () => {
    const { env, app } = await setup('inline')
    const worker = start(['worker', '--app', REDIS_APP, '--inline', '-c', '2'], env)
    await worker.waitForLog((l) => l.msg === 'worker started')
    const job = await app.enqueue('work.echo', { inline: true })
    expect(await job.result({ timeoutMs: 45_000 })).toEqual({ inline: true })
    expect(worker.logs().some(msg('worker process started'))).toBe(false)
    worker.signal('SIGTERM')
    expect(await worker.exited).toBe(0)
  })

  it('recycles a process over --max-memory-mb after a task, but never loops on a limit below its baseline', async () => {
    const { env, app } = await setup('memory')
    const worker = start(['worker', '--app', REDIS_APP, '--max-memory-mb', '1', '--stats-interval', '200'], env)
    await worker.waitForLog(msg('before any task ran'))
    const job = await app.enqueue('work.echo', { n: 1 })
    await job.result({ timeoutMs: 45_000 })
    const recycled = await worker.waitForLog(msg('recycling worker process'))
    expect(String(recycled.reason)).toMatch(/^resident memory \d+ MiB over 1 MiB$/)
    await until(() => worker.logs().filter(msg('worker ready')).length === 2, 15_000, 'the replacement')
    // The replacement is over the limit too, but warns instead of recycling (its first stats tick, 200 ms).
    await until(() => worker.logs().filter(msg('before any task ran')).length === 2, 15_000, 'the second warning')
    expect(worker.logs().filter(msg('worker process started'))).toHaveLength(2)
    worker.signal('SIGTERM')
    expect(await worker.exited).toBe(0)
  })
})
