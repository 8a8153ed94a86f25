import { PayloadTooLargeError } from '@conveyor/core'
import type { Delivery } from '@conveyor/core/adapter'
import { deletePrefix, envelope, REDIS_URL, rawRedis, uniquePrefix } from '@conveyor/test-support'
import type { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createRedisBroker } from '../src/index'
import { until } from './helpers'

let raw: Redis
const prefixes: string[] = []
const brokers: ReturnType<typeof createRedisBroker>[] = []

const make = (options: { maxMessageBytes?: number } = {}) => {
  const prefix = uniquePrefix('many')
  prefixes.push(prefix)
  const broker = createRedisBroker({ url: REDIS_URL, prefix, leaseMs: 2000, logger: false, ...options })
  brokers.push(broker)
  return { broker, prefix }
}

beforeAll(async () => {
  raw = await rawRedis()
})
afterEach(async () => {
  for (const broker of brokers.splice(0)) await broker.close()
})
afterAll(async () => {
  for (const prefix of prefixes) await deletePrefix(raw, prefix)
  raw.disconnect()
})

describe('redis publishMany', () => {
  it('keeps order within a priority, puts higher priorities first, and holds delayed ones back', async () => {
    const { broker } = make()
    const batch = [
      envelope('a', { payload: 'a-low-1' }),
      envelope('a', { payload: 'a-high-1', priority: 7 }),
      envelope('a', { payload: 'a-later', notBefore: Date.now() + 400 }),
      envelope('b', { payload: 'b-1' }),
      envelope('a', { payload: 'a-low-2' }),
      envelope('a', { payload: 'a-high-2', priority: 7 }),
      envelope('b', { payload: 'b-2', priority: 2 }),
    ]
    await broker.publishMany!(batch)
    expect(await broker.stats('a')).toMatchObject({ ready: 4, inFlight: 0, delayed: 1, dead: 0 })
    expect(await broker.stats('b')).toMatchObject({ ready: 2, inFlight: 0, delayed: 0, dead: 0 })

    const got: Delivery[] = []
    await broker.consume('a', (d) => got.push(d), { prefetch: 10 })
    await until(() => got.length === 4)
    expect(got.map((d) => d.envelope.payload)).toEqual(['a-high-1', 'a-high-2', 'a-low-1', 'a-low-2'])
    expect(got[0]!.envelope).toEqual(batch[1])
    await until(() => got.length === 5, 5000, 'the delayed member')
    expect(got[4]!.envelope).toEqual(batch[2])

    const fromB: Delivery[] = []
    await broker.consume('b', (d) => fromB.push(d), { prefetch: 10 })
    await until(() => fromB.length === 2)
    expect(fromB.map((d) => d.envelope.payload)).toEqual(['b-2', 'b-1'])
  })

  it('publishes a batch of 10,000 in order (several chunks)', async () => {
    const { broker } = make()
    const batch = Array.from({ length: 10_000 }, (_, i) => envelope('big', { payload: i }))
    await broker.publishMany!(batch)
    expect((await broker.stats('big')).ready).toBe(10_000)
    const seen: number[] = []
    await broker.consume(
      'big',
      (d) => {
        seen.push(d.envelope.payload as number)
        void d.ack()
      },
      { prefetch: 500 },
    )
    await until(() => seen.length === 10_000, 20_000, 'all 10,000')
    expect(seen).toEqual(batch.map((_, i) => i))
  })

  it('rejects the whole batch, writing nothing, when one member is too large', async () => {
    const { broker } = make({ maxMessageBytes: 1024 })
    const batch = [envelope('q'), envelope('q', { payload: 'x'.repeat(2000) }), envelope('q')]
    await expect(broker.publishMany!(batch)).rejects.toBeInstanceOf(PayloadTooLargeError)
    expect(await broker.stats('q')).toEqual({ ready: 0, inFlight: 0, delayed: 0, dead: 0 })
    await expect(broker.publish(batch[1]!)).rejects.toBeInstanceOf(PayloadTooLargeError)
  })

  it('single publishes made together keep their order and each resolves once stored', async () => {
    const { broker } = make()
    const batch = Array.from({ length: 1200 }, (_, i) => envelope('q', { payload: i, priority: i % 2 }))
    await Promise.all(batch.map((e) => broker.publish(e)))
    expect((await broker.stats('q')).ready).toBe(1200)
    const seen: number[] = []
    await broker.consume(
      'q',
      (d) => {
        seen.push(d.envelope.payload as number)
        void d.ack()
      },
      { prefetch: 100 },
    )
    await until(() => seen.length === 1200, 10_000)
    const odd = batch.map((_, i) => i).filter((i) => i % 2 === 1)
    const even = batch.map((_, i) => i).filter((i) => i % 2 === 0)
    expect(seen).toEqual([...odd, ...even])
  })

  it('an empty batch is a no-op', async () => {
    const { broker } = make()
    await broker.publishMany!([])
  })
})

describe('redis listQueues', () => {
  it('lists the queues declared under the prefix by any instance, sorted', async () => {
    const { broker, prefix } = make()
    expect(await broker.listQueues!()).toEqual([])
    await broker.declare({ name: 'zeta' })
    await broker.declare({ name: 'alpha' })
    await broker.declare({ name: 'alpha' })
    const other = createRedisBroker({ url: REDIS_URL, prefix, logger: false })
    brokers.push(other)
    await other.declare({ name: 'mid' })
    expect(await broker.listQueues!()).toEqual(['alpha', 'mid', 'zeta'])
    // Another prefix is another namespace.
    const { broker: elsewhere } = make()
    expect(await elsewhere.listQueues!()).toEqual([])
  })
})
