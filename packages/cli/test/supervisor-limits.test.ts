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

describe('conveyor worker limits and pools (supervised, on Redis)', { timeout: 90_000 }, () => {
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
    expect(Date.now() - began).toBeLessThan(2500)
    expect((await bulk[2]!.record())?.state).not.toBe('succeeded')
    worker.signal('SIGTERM')
    worker.signal('SIGTERM')
    expect(await worker.exited).toBe(0)
  })
})
