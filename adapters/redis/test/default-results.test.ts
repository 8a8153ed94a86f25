import { createApp } from '@conveyor/core'
import { deletePrefix, REDIS_URL, rawRedis, uniquePrefix } from '@conveyor/test-support'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisBroker, redisAdapter } from '../src/index'

describe('an app on redis with no `results`', () => {
  let raw: Redis
  const prefixes: string[] = []
  beforeAll(async () => {
    raw = await rawRedis()
  })
  afterAll(async () => {
    for (const prefix of prefixes) await deletePrefix(raw, prefix)
    raw.disconnect()
  })

  it('given the broker as a URL, keeps results in the same Redis under the same prefix', async () => {
    const prefix = uniquePrefix('default-results')
    prefixes.push(prefix)
    const app = createApp({ broker: `${REDIS_URL}?prefix=${prefix}`, adapters: [redisAdapter], logger: false })
    const add = app.task('math.add', async (input: { a: number; b: number }) => input.a + input.b)
    const worker = app.worker()
    await worker.start()
    const job = await add.enqueue({ a: 2, b: 3 })
    expect(await job.result({ timeoutMs: 10_000 })).toBe(5)
    // Readable by any process: a second app on the same URL sees the record.
    const other = createApp({ broker: `${REDIS_URL}?prefix=${prefix}`, adapters: [redisAdapter], logger: false })
    expect(await other.job(job.id).record()).toMatchObject({ state: 'succeeded', result: 5 })
    await worker.stop({ timeoutMs: 1_000 })
    await Promise.all([app.close(), other.close()])
  })

  it('given a broker instance, job.result() fails at once saying what to pass', async () => {
    const prefix = uniquePrefix('no-results')
    prefixes.push(prefix)
    const app = createApp({ broker: createRedisBroker({ url: REDIS_URL, prefix }), logger: false })
    const job = await app.task('t', () => 1).enqueue(null)
    const failure = job.result({ timeoutMs: 10_000 })
    await expect(failure).rejects.toMatchObject({ code: 'CONVEYOR_NO_RESULT_BACKEND' })
    await expect(failure).rejects.toThrow(/createRedisResultBackend\(\{ url \}\)/)
    await app.close()
  })
})
