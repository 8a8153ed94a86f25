import { createApp, fixed, UnrecoverableError } from '@conveyor/core'
import { deletePrefix, REDIS_URL, rawRedis, uniquePrefix } from '@conveyor/test-support'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisAdapter } from '../src/index'
import { until } from './helpers'

let raw: Redis
const prefix = uniquePrefix('app')

beforeAll(async () => {
  raw = await rawRedis()
})
afterAll(async () => {
  await deletePrefix(raw, prefix)
  raw.disconnect()
})

describe('core app on redis (URL adapter)', () => {
  it('runs tasks, retries with backoff, dead-letters, and returns results through the redis result backend', async () => {
    const url = `${REDIS_URL}?prefix=${prefix}&leaseMs=1000`
    const app = createApp({
      broker: url,
      results: url,
      adapters: [redisAdapter],
      logger: false,
      defaults: { queue: 'app', retry: { maxAttempts: 3, backoff: fixed(50) } },
    })
    expect(app.broker.name).toBe('redis')
    let flakyRuns = 0
    const add = app.task('add', async (input: { a: number; b: number }) => input.a + input.b)
    const flaky = app.task('flaky', async () => {
      flakyRuns++
      if (flakyRuns < 3) throw new Error(`flake ${flakyRuns}`)
      return 'ok'
    })
    const doomed = app.task('doomed', async () => {
      throw new UnrecoverableError('no way')
    })
    const worker = app.worker({ queues: ['app'], concurrency: 10 })
    await worker.start()
    const sum = await add.enqueue({ a: 2, b: 3 })
    expect(await sum.result({ timeoutMs: 5000 })).toBe(5)
    const flakyJob = await flaky.enqueue(null)
    expect(await flakyJob.result({ timeoutMs: 5000 })).toBe('ok')
    expect(flakyRuns).toBe(3)
    const doomedJob = await doomed.enqueue(null)
    await expect(doomedJob.result({ timeoutMs: 5000 })).rejects.toThrow()
    await until(async () => (await app.broker.deadLetters.count('app')) === 1, 5000, 'dead letter')
    const [dead] = await app.broker.deadLetters.list('app')
    expect(dead).toMatchObject({ id: doomedJob.id, reason: 'unrecoverable', attempts: 1 })
    expect(dead?.error?.message).toContain('no way')
    // The record lives in Redis under the prefix.
    expect(await raw.exists(`${prefix}:result:${sum.id}`)).toBe(1)
    await worker.stop({ timeoutMs: 1000 })
    await app.close()
  })
})
