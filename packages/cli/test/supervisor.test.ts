import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { App } from '@conveyor/core'
import { createRedisCoordination } from '@conveyor/redis'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  conveyor,
  deletePrefix,
  killLeftovers,
  producer,
  REDIS_APP,
  REDIS_URL,
  rawRedis,
  sandbox,
  sleep,
  start,
  until,
} from './helpers'

let redis: Redis
const cleanup: (() => Promise<void>)[] = []

beforeAll(async () => {
  redis = await rawRedis()
})
afterAll(async () => {
  await killLeftovers()
  for (const fn of cleanup) await fn().catch(() => undefined)
  await redis.quit()
})

async function setup(what: string) {
  const box = sandbox(what)
  const app: App = await producer(box.prefix)
  cleanup.push(async () => {
    await app.close()
    await deletePrefix(redis, box.prefix)
  })
  return { ...box, app }
}

const msg = (text: string) => (line: Record<string, unknown>) => String(line.msg).includes(text)

describe('conveyor worker (supervised, on Redis)', { timeout: 60_000 }, () => {
  it('restarts a crashed worker process and its task is redelivered', async () => {
    const { env, app, dir, journal } = await setup('crash')
    const worker = start(['worker', '--app', REDIS_APP, '--restart-backoff', '100'], env)
    const job = await app.enqueue('work.crash-once', { marker: join(dir, 'crashed') })
    expect(await job.result({ timeoutMs: 15_000 })).toBe('survived')
    const died = await worker.waitForLog(msg('worker process died'))
    expect(died).toMatchObject({ code: 1 })
    const runs = journal().filter((e) => e.task === 'work.crash-once')
    expect(runs).toHaveLength(2)
    expect(runs[0]!.pid).not.toBe(runs[1]!.pid)
    expect(runs[1]!.deliveryCount).toBe(2)
    worker.signal('SIGTERM')
    expect(await worker.exited).toBe(0)
  })

  it('SIGTERM drains: running tasks finish, queued ones stay on the queue, exit 0', async () => {
    const { env, app, journal } = await setup('drain')
    const worker = start(['worker', '--app', REDIS_APP, '-c', '2'], env)
    await worker.waitForLog(msg('worker ready'))
    for (let n = 0; n < 5; n++) await app.enqueue('work.slow', { ms: 700, n })
    await until(() => journal().filter((e) => e.event === 'start').length === 2, 5000, 'two tasks running')
    worker.signal('SIGTERM')
    expect(await worker.exited).toBe(0)
    const entries = journal()
    const started = entries.filter((e) => e.event === 'start').map((e) => e.n)
    const ended = entries.filter((e) => e.event === 'end').map((e) => e.n)
    expect(started).toHaveLength(2)
    expect(ended.sort()).toEqual(started.sort())
    const stats = await app.broker.stats('default')
    expect(stats).toMatchObject({ ready: 3, inFlight: 0 })
  })

  it('soft time limit: the task signal aborts and the retry policy decides', async () => {
    const { env, app, journal } = await setup('soft')
    const worker = start(['worker', '--app', REDIS_APP], env)
    const job = await app.enqueue('work.soft', null)
    await expect(job.result({ timeoutMs: 10_000 })).rejects.toThrow()
    const record = await job.record()
    expect(record?.state).toBe('dead-lettered')
    expect(record?.error?.name).toBe('TaskTimeoutError')
    // maxAttempts travels in the envelope: the producer, which does not know the task, used the default of 3.
    expect(
      journal()
        .filter((e) => e.task === 'work.soft')
        .map((e) => e.attempt),
    ).toEqual([1, 2, 3])
    worker.signal('SIGTERM')
    expect(await worker.exited).toBe(0)
  })

  it('hard time limit: the stuck process is killed and replaced, the delivery comes back', async () => {
    const { env, app, journal } = await setup('hard')
    const worker = start(['worker', '--app', REDIS_APP], env)
    await app.enqueue('work.hang', null)
    const killed = await worker.waitForLog(msg('exceeded its hard time limit'))
    expect(killed).toMatchObject({ task: 'work.hang', hardLimitMs: 400 })
    // A new process takes over and the lease of the killed one expires: the task runs again, delivery count 2.
    await until(() => journal().filter((e) => e.task === 'work.hang').length >= 2, 10_000, 'redelivery')
    const runs = journal().filter((e) => e.task === 'work.hang')
    expect(runs[1]!.pid).not.toBe(runs[0]!.pid)
    expect(runs[1]!.deliveryCount).toBe(2)
    worker.signal('SIGTERM')
    expect(await worker.exited).toBe(0)
  })

  it('a rate limit holds across two worker processes', async () => {
    const { env, app, journal, prefix } = await setup('rate')
    const worker = start(['worker', '--app', REDIS_APP, '-P', '2', '-c', '10'], env)
    await until(() => worker.logs().filter(msg('worker ready')).length === 2, 15_000, 'two workers ready')
    await Promise.all(Array.from({ length: 15 }, () => app.enqueue('work.limited', null)))
    await until(() => journal().length === 15, 10_000, '15 runs')
    const runs = journal()
    expect(new Set(runs.map((r) => r.pid)).size).toBe(2)
    const times = runs.map((r) => r.at as number).sort((a, b) => a - b)
    // 5 per 500 ms across both processes: run i+5 starts about a window after run i. Runs are stamped a little after
    // their token was taken (state write, IPC), hence the slack; per-process limits would give 10 runs at once (~0).
    for (let i = 5; i < times.length; i++) expect(times[i]! - times[i - 5]!).toBeGreaterThanOrEqual(400)
    expect(times[14]! - times[0]!).toBeGreaterThanOrEqual(900)
    // Both processes are visible through their heartbeats, and leave the listing when they stop.
    const listed = await conveyor(['inspect', 'workers', '--app', REDIS_APP, '--json'], env)
    const beats = JSON.parse(listed.stdout) as { pid: number; pool: string; processed: number }[]
    expect(beats.map((b) => b.pid).sort()).toEqual([...new Set(runs.map((r) => r.pid as number))].sort())
    expect(beats.every((b) => b.pool === 'default')).toBe(true)
    worker.signal('SIGTERM')
    expect(await worker.exited).toBe(0)
    const coordination = createRedisCoordination({ url: REDIS_URL, prefix })
    expect(await coordination.listHeartbeats()).toEqual([])
    await coordination.close()
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
    for (const job of jobs) await job.result({ timeoutMs: 15_000 })
    await until(() => worker.logs().filter(msg('recycling worker process')).length >= 2, 5000, 'two recycles')
    worker.signal('SIGTERM')
    expect(await worker.exited).toBe(0)
  })

  it('a process failing at start-up is backed off and reported, not restarted in a tight loop', async () => {
    const { env, dir } = await setup('startup')
    const broken = join(dir, 'broken-app.mjs')
    // Loads fine in the supervisor, throws in every worker child.
    writeFileSync(
      broken,
      `export * from ${JSON.stringify(REDIS_APP)}\nif (process.env.CONVEYOR_CHILD_CONFIG) throw new Error('database password missing')\n`,
    )
    const worker = start(['worker', '--app', broken, '--restart-backoff', '100'], env)
    await worker.waitForLog((l) => l.level === 50 && msg('failed at start-up')(l), 20_000)
    const failures = worker.logs().filter(msg('failed at start-up'))
    expect(failures[0]).toMatchObject({ retryInMs: 100 })
    expect(failures[0]!.error).toMatch(/^cannot load app module .*broken-app\.mjs: database password missing$/)
    expect(failures.map((f) => f.retryInMs)).toEqual([100, 200, 400].slice(0, failures.length))
    const started = worker.logs().filter(msg('worker process started')).length
    await sleep(500)
    expect(worker.logs().filter(msg('worker process started')).length).toBeLessThanOrEqual(started + 1)
    worker.signal('SIGTERM')
    expect(await worker.exited).toBe(0)
  })

  it('a second SIGTERM stops at once and gives running tasks back to the queue', async () => {
    const { env, app, journal } = await setup('hardstop')
    const worker = start(['worker', '--app', REDIS_APP, '-c', '2'], env)
    await worker.waitForLog(msg('worker ready'))
    for (let n = 0; n < 3; n++) await app.enqueue('work.slow', { ms: 20_000, n })
    await until(() => journal().filter((e) => e.event === 'start').length === 2, 5000, 'two tasks running')
    const stoppedAt = Date.now()
    worker.signal('SIGTERM')
    await worker.waitForLog(msg('stopping: workers finish running tasks'))
    worker.signal('SIGTERM')
    expect(await worker.exited).toBe(0)
    expect(Date.now() - stoppedAt).toBeLessThan(5000)
    expect(journal().filter((e) => e.event === 'end')).toEqual([])
    // Released, not left to lease expiry: all three are ready again at once.
    expect(await app.broker.stats('default')).toMatchObject({ ready: 3, inFlight: 0 })
  })

  it('dedicated pools: a backlog on a bulk queue does not delay the critical one', async () => {
    const { env, app } = await setup('pools')
    const worker = start(['worker', '--app', REDIS_APP, '--pool', 'high=critical:2', '--pool', 'bulk=reports:1'], env)
    await until(() => worker.logs().filter(msg('worker ready')).length === 2, 20_000, 'two pools ready')
    const ready = worker.logs().filter(msg('worker ready'))
    expect(ready.map((l) => l.queues).sort()).toEqual([['critical'], ['reports']])
    const bulk = await Promise.all(
      [0, 1, 2].map((n) => app.enqueue('work.slow', { ms: 1500, n }, { queue: 'reports' })),
    )
    const began = Date.now()
    const urgent = await app.enqueue('work.echo', { urgent: true }, { queue: 'critical' })
    expect(await urgent.result({ timeoutMs: 5000 })).toEqual({ urgent: true })
    expect(Date.now() - began).toBeLessThan(1000)
    expect((await bulk[2]!.record())?.state).not.toBe('succeeded')
    worker.signal('SIGTERM')
    worker.signal('SIGTERM')
    expect(await worker.exited).toBe(0)
  })
})
