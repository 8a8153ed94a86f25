// Python's send_task → a Conveyor worker on Kombu's Redis lists → Python's AsyncResult.get(), against a real Celery 5.
import { type App, createApp } from '@conveyor/core'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CeleryCall, createCeleryRedisBroker, createCeleryRedisResultBackend } from '../src/index'
import { type CeleryEnv, pythonCall, requireCelery } from './python'
import { CELERY_REDIS_URL, cleanRedis, rawRedis, uniqueNamespace, uniqueQueue } from './redis-helpers'

describe('Celery → Conveyor on Redis', { timeout: 120_000 }, () => {
  const queue = uniqueQueue('in')
  const namespace = uniqueNamespace('in')
  const env: CeleryEnv = { broker: CELERY_REDIS_URL, backend: CELERY_REDIS_URL, queue }
  const ids: string[] = []
  const stamps: { at: number; notBefore: number | undefined }[] = []
  let app: App
  let redis: Redis

  beforeAll(async () => {
    requireCelery()
    redis = await rawRedis()
    app = createApp({
      broker: createCeleryRedisBroker({ url: CELERY_REDIS_URL, namespace, logger: false }),
      results: createCeleryRedisResultBackend({ url: CELERY_REDIS_URL }),
      logger: false,
    })
    app.task(
      'proj.tasks.add',
      ({ args, kwargs }: CeleryCall<[number, number], { extra?: number }>) => args[0] + args[1] + (kwargs?.extra ?? 0),
      { queue },
    )
    app.task(
      'proj.tasks.fail',
      ({ args }: CeleryCall<[string]>) => {
        throw new TypeError(`bad input: ${args[0]}`)
      },
      { queue },
    )
    app.task(
      'proj.tasks.stamp',
      (_input: CeleryCall, ctx) => {
        stamps.push({ at: Date.now(), notBefore: ctx.envelope.notBefore })
        return 'stamped'
      },
      { queue },
    )
    await app.worker({ queues: [queue], concurrency: 2 }).start()
  })

  afterAll(async () => {
    await app?.close({ timeoutMs: 1000 })
    if (redis) {
      await cleanRedis(redis, queue, namespace, ids)
      redis.disconnect()
    }
  })

  it('celery-redis-in-1: send_task runs on the Conveyor worker and AsyncResult.get() returns the value', async () => {
    const [ok, failed] = await Promise.all([
      pythonCall(env, 'proj.tasks.add', [2, 3], { extra: 4 }, { queue }),
      pythonCall(env, 'proj.tasks.fail', ['nope'], {}, { queue }),
    ])
    ids.push(ok.id, failed.id)
    expect(ok).toMatchObject({ status: 'SUCCESS', result: 9 })
    // A failing task: Python sees FAILURE and the error raised as its builtin class, with the message.
    expect(failed).toMatchObject({ status: 'FAILURE', error_type: 'TypeError' })
    expect(failed.error).toContain('bad input: nope')
  })

  it('celery-redis-in-2: a countdown from Python is honoured: parked in Redis until its eta, then run', async () => {
    const out = await pythonCall(env, 'proj.tasks.stamp', [], {}, { queue, countdown: 1.5 })
    ids.push(out.id)
    expect(out).toMatchObject({ status: 'SUCCESS', result: 'stamped' })
    expect(stamps).toHaveLength(1)
    expect(stamps[0]!.notBefore).toBeDefined()
    expect(stamps[0]!.at).toBeGreaterThanOrEqual(stamps[0]!.notBefore!)
  })
})
