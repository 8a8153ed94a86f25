// Conveyor enqueues onto Kombu's Redis lists → a real Celery 5 worker runs them → Conveyor reads Celery's results.
import { type App, createApp, TaskFailedError } from '@conveyor/core'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { celeryTask, createCeleryRedisBroker, createCeleryRedisResultBackend, decodeKombu } from '../src/index'
import { type CeleryEnv, type CeleryWorker, requireCelery, startCeleryWorker } from './python'
import { CELERY_REDIS_URL, cleanRedis, rawRedis, uniqueNamespace, uniqueQueue } from './redis-helpers'

const add = celeryTask<[number, number], number, { extra?: number }>('proj.tasks.add')
const fail = celeryTask<[string], never>('proj.tasks.fail')
const stamp = celeryTask<unknown[], { ran_at: number; retries: number }>('proj.tasks.stamp')

describe('Conveyor → Celery on Redis', { timeout: 120_000 }, () => {
  const queue = uniqueQueue('out')
  const idle = uniqueQueue('out-idle')
  const namespace = uniqueNamespace('out')
  const env: CeleryEnv = { broker: CELERY_REDIS_URL, backend: CELERY_REDIS_URL, queue }
  const ids: string[] = []
  let worker: CeleryWorker
  let app: App
  let redis: Redis

  beforeAll(async () => {
    requireCelery()
    redis = await rawRedis()
    worker = await startCeleryWorker(env)
    app = createApp({
      broker: createCeleryRedisBroker({ url: CELERY_REDIS_URL, namespace, logger: false }),
      results: createCeleryRedisResultBackend({ url: CELERY_REDIS_URL }),
      logger: false,
    })
  })

  afterAll(async () => {
    await worker?.stop()
    await app?.close()
    if (redis) {
      await cleanRedis(redis, queue, namespace, ids)
      await cleanRedis(redis, idle, namespace)
      redis.disconnect()
    }
  })

  it('celery-redis-out-1: a typed enqueue runs on Celery and job.result() reads SUCCESS and FAILURE', async () => {
    const job = await app.enqueue(add, { args: [2, 3], kwargs: { extra: 10 } }, { queue })
    const failing = await app.enqueue(fail, { args: ['broken'] }, { queue })
    ids.push(job.id, failing.id)
    expect(await job.result({ timeoutMs: 60_000 })).toBe(15)
    const error = await failing.result({ timeoutMs: 60_000 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TaskFailedError)
    expect(await failing.record()).toMatchObject({ state: 'failed', error: { name: 'ValueError', message: 'broken' } })
  })

  it('celery-redis-out-2: countdown is honoured by the Celery worker, and an expired task is REVOKED', async () => {
    const before = Date.now()
    const later = await app.enqueue(stamp, { args: [] }, { queue, delayMs: 1500 })
    const expired = await app.enqueue(stamp, { args: [] }, { queue, delayMs: 1000, expiresInMs: 300 })
    ids.push(later.id, expired.id)
    const ran = await later.result({ timeoutMs: 60_000 })
    expect(ran.ran_at * 1000 - before).toBeGreaterThanOrEqual(1400)
    await expect(expired.result({ timeoutMs: 60_000 })).rejects.toBeInstanceOf(TaskFailedError)
    expect(await expired.record()).toMatchObject({ state: 'revoked' })
  })

  it("celery-redis-out-3: priority goes to Kombu's list for the inverted step (Conveyor 9 = Kombu 0 = read first)", async () => {
    await app.enqueue(add, { args: [1, 1] }, { queue: idle, priority: 9 })
    await app.enqueue(add, { args: [1, 1] }, { queue: idle, priority: 0 })
    const first = await redis.lrange(idle, 0, -1)
    const last = await redis.lrange(`${idle}\x06\x169`, 0, -1)
    expect(first).toHaveLength(1)
    expect(last).toHaveLength(1)
    expect(decodeKombu(first[0]!).properties.priority).toBe(0)
    expect(decodeKombu(last[0]!).properties.priority).toBe(9)
  })
})
