import { ResultTimeoutError, type TaskRecord } from '@conveyor/core'
import { deletePrefix, REDIS_URL, rawRedis, sleep, uniquePrefix } from '@conveyor/test-support'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisResultBackend } from '../src/index'

let raw: Redis
const prefix = uniquePrefix('results')

const record = (id: string, state: TaskRecord['state'], over: Partial<TaskRecord> = {}): TaskRecord => ({
  id,
  task: 't',
  queue: 'q',
  state,
  attempt: 1,
  updatedAt: Date.now(),
  ...over,
})

beforeAll(async () => {
  raw = await rawRedis()
})
afterAll(async () => {
  await deletePrefix(raw, prefix)
  raw.disconnect()
})

describe('redis result backend', () => {
  it('stores, reads, expires and deletes records', async () => {
    const results = createRedisResultBackend({ url: REDIS_URL, prefix, logger: false })
    await results.set(record('a', 'started'), { ttlMs: 60_000 })
    expect(await results.get('a')).toMatchObject({ id: 'a', state: 'started' })
    const ttl = await raw.pttl(`${prefix}:result:a`)
    expect(ttl).toBeGreaterThan(50_000)
    await results.set(record('b', 'succeeded', { result: { ok: [1, 2] } }), { ttlMs: 100 })
    expect((await results.get('b'))?.result).toEqual({ ok: [1, 2] })
    await sleep(200)
    expect(await results.get('b')).toBeUndefined()
    await results.delete('a')
    expect(await results.get('a')).toBeUndefined()
    await results.close()
  })

  it('wait resolves at once for a finished record, on publish for a running one, and times out', async () => {
    const results = createRedisResultBackend({ url: REDIS_URL, prefix, logger: false })
    await results.set(record('done', 'failed', { error: { name: 'Error', message: 'x' } }), { ttlMs: 60_000 })
    expect((await results.wait('done', { timeoutMs: 1000 })).state).toBe('failed')
    const waiting = results.wait('later', { timeoutMs: 3000 })
    await results.set(record('later', 'started'), { ttlMs: 60_000 })
    await sleep(50)
    await results.set(record('later', 'succeeded', { result: 42 }), { ttlMs: 60_000 })
    expect((await waiting).result).toBe(42)
    await expect(results.wait('never', { timeoutMs: 100 })).rejects.toBeInstanceOf(ResultTimeoutError)
    const controller = new AbortController()
    const aborted = results.wait('never', { timeoutMs: 5000, signal: controller.signal })
    controller.abort(new Error('stop'))
    await expect(aborted).rejects.toThrow('stop')
    await results.close()
  })

  it('serves many concurrent waiters (same and different ids) from one subscriber connection', async () => {
    const producer = createRedisResultBackend({ url: REDIS_URL, prefix, logger: false })
    const waiterSide = createRedisResultBackend({ url: REDIS_URL, prefix, logger: false })
    const ids = Array.from({ length: 500 }, (_, i) => `many-${i}`)
    const waits = ids.flatMap((id) => [
      waiterSide.wait(id, { timeoutMs: 10_000 }),
      waiterSide.wait(id, { timeoutMs: 10_000 }),
    ])
    // Half finish while the waiters are subscribing, half afterwards.
    await Promise.all(
      ids.slice(0, 250).map((id) => producer.set(record(id, 'succeeded', { result: id }), { ttlMs: 60_000 })),
    )
    await sleep(100)
    await Promise.all(
      ids.slice(250).map((id) => producer.set(record(id, 'succeeded', { result: id }), { ttlMs: 60_000 })),
    )
    const done = await Promise.all(waits)
    expect(done.map((r) => r.result)).toEqual(ids.flatMap((id) => [id, id]))
    const clients = (await raw.client('LIST')) as string
    const subs = clients.split('\n').filter((line) => line.includes(`name=conveyor:${prefix}:results-sub`))
    expect(subs.length).toBe(1)
    await producer.close()
    await waiterSide.close()
  })
})
