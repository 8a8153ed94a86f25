// Priorities on Kombu's lists as a Conveyor consumer reads them: higher Conveyor priority (lower Kombu number) first.
import { type App, createApp } from '@conveyor/core'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { celeryTask, createCeleryRedisBroker } from '../src/index'
import { CELERY_REDIS_URL, cleanRedis, rawRedis, uniqueNamespace, uniqueQueue } from './redis-helpers'

const tag = celeryTask<[string]>('proj.tasks.tag')

describe('Celery priorities on Redis', () => {
  const queue = uniqueQueue('prio')
  const namespace = uniqueNamespace('prio')
  let app: App
  let redis: Redis

  beforeAll(async () => {
    redis = await rawRedis()
    app = createApp({
      broker: createCeleryRedisBroker({ url: CELERY_REDIS_URL, namespace, logger: false }),
      results: false,
      logger: false,
    })
  })

  afterAll(async () => {
    await app?.close({ timeoutMs: 1000 })
    if (redis) {
      await cleanRedis(redis, queue, namespace)
      redis.disconnect()
    }
  })

  it('celery-redis-priority: waiting messages run by priority step, FIFO within a step', async () => {
    for (const [name, priority] of [
      ['low', 0],
      ['mid', 5],
      ['high', 9],
      ['mid-2', 4],
      ['high-2', 8],
    ] as const) {
      await app.enqueue(tag, { args: [name] }, { queue, priority })
    }
    const order: string[] = []
    app.implement(tag, ({ args }) => {
      order.push(args[0])
    })
    await app.worker({ queues: [queue], concurrency: 1, prefetch: 1 }).start()
    for (let i = 0; i < 100 && order.length < 5; i++) await new Promise((resolve) => setTimeout(resolve, 50))
    // Kombu steps: Conveyor 9 and 8 share Kombu's step 0; 5 and 4 share step 3; 0 is step 9.
    expect(order).toEqual(['high', 'high-2', 'mid', 'mid-2', 'low'])
  })
})
