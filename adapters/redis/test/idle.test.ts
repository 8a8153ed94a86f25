import { envelope, sleep } from '@conveyor/test-support'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisBroker, createRedisResultBackend } from '../src/index'
import { until } from './helpers'
import { type PrivateRedis, startPrivateRedis } from './servers'

// A private server, so command counts are this test's alone.
let server: PrivateRedis
let url: string
let admin: Redis

beforeAll(async () => {
  server = await startPrivateRedis()
  url = `redis://127.0.0.1:${server.port}`
  admin = new Redis(url)
}, 30_000)
afterAll(async () => {
  admin?.disconnect()
  await server?.stop()
})

const calls = async (command: string) => {
  const line = (await admin.info('commandstats')).split('\n').find((l) => l.startsWith(`cmdstat_${command}:`))
  return Number(/calls=(\d+)/.exec(line ?? '')?.[1] ?? 0)
}

describe('redis idle consumers', () => {
  it('block without polling: a few commands per idle second, and a publish still wakes them at once', async () => {
    const broker = createRedisBroker({ url, prefix: 'idle', leaseMs: 10_000, logger: false })
    const got: string[] = []
    for (const queue of ['a', 'b']) {
      await broker.consume(
        queue,
        (d) => {
          got.push(d.envelope.id)
          void d.ack()
        },
        { prefetch: 10 },
      )
    }
    await sleep(200)
    await admin.config('RESETSTAT')
    await sleep(1500)
    // Each consumer blocks on its queue's wake-up list for up to maxBlockMs (5 s): no fetch in between.
    // (Polling would be hundreds; a few allow for a slow machine.)
    expect(await calls('evalsha')).toBeLessThanOrEqual(4)
    expect(await calls('blpop')).toBeLessThanOrEqual(4)
    const e = envelope('b')
    const sentAt = Date.now()
    await broker.publish(e)
    await until(() => got.includes(e.id), 2000, 'the wake-up')
    expect(Date.now() - sentAt).toBeLessThan(1500)
    await broker.close()
  })

  it('a result waiter survives its subscriber connection being killed', async () => {
    const waiting = createRedisResultBackend({ url, prefix: 'idle', logger: false })
    const writer = createRedisResultBackend({ url, prefix: 'idle', logger: false })
    const result = waiting.wait('job-1', { timeoutMs: 10_000 })
    await sleep(100)
    const list = (await admin.client('LIST')) as string
    const subscriber = list.split('\n').find((line) => line.includes('name=conveyor:idle:results-sub'))
    const id = /(?:^|\s)id=(\d+)/.exec(subscriber ?? '')?.[1]
    expect(id).toBeDefined()
    await admin.client('KILL', 'ID', id!)
    // Written while the subscriber reconnects: the message reaches nobody, the re-read after reconnecting finds it.
    await writer.set(
      { id: 'job-1', task: 't', queue: 'q', state: 'succeeded', attempt: 1, result: 'ok', updatedAt: Date.now() },
      { ttlMs: 60_000 },
    )
    expect((await result).result).toBe('ok')
    await waiting.close()
    await writer.close()
  })
})

describe('redis publish batching', () => {
  it('publishes made together share one script call; publishMany sends one per 500 messages', async () => {
    const broker = createRedisBroker({ url, prefix: 'batching', logger: false })
    try {
      await broker.publish(envelope('q')) // loads the script, so NOSCRIPT round trips do not count below
      const before = await calls('evalsha')
      await Promise.all(Array.from({ length: 64 }, () => broker.publish(envelope('q'))))
      expect((await calls('evalsha')) - before).toBe(1)
      const mid = await calls('evalsha')
      await broker.publishMany!(Array.from({ length: 1200 }, () => envelope('q')))
      expect((await calls('evalsha')) - mid).toBe(3)
      expect((await broker.stats('q')).ready).toBe(1 + 64 + 1200)
      await broker.purge('q')
    } finally {
      await broker.close()
    }
  })
})
