import { type App, type Broker, createApp } from '@conveyor/core'
import { createRedisBroker, createRedisCoordination } from '@conveyor/redis'
import { deletePrefix, REDIS_URL, rawRedis, sleep, uniquePrefix } from '@conveyor/test-support'
import type { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { queueKeys } from '../src/keys'

// Idempotent enqueues across processes: apps with their own broker and coordination connections sharing one Redis.

let raw: Redis
const prefixes: string[] = []
const apps: App[] = []
const stores: ReturnType<typeof createRedisCoordination>[] = []

beforeAll(async () => {
  raw = await rawRedis()
})
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close({ timeoutMs: 0 })))
  // The app does not close a store it was given.
  await Promise.all(stores.splice(0).map((store) => store.close()))
})
afterAll(async () => {
  for (const prefix of prefixes) await deletePrefix(raw, prefix)
  raw.disconnect()
})

function namespace(what: string): string {
  const prefix = uniquePrefix(what)
  prefixes.push(prefix)
  return prefix
}

/** One producer process: its own broker and coordination connections on the shared namespace. */
function producer(prefix: string, wrap: (broker: Broker) => Broker = (b) => b): App {
  const coordination = createRedisCoordination({ url: REDIS_URL, prefix })
  stores.push(coordination)
  const app = createApp({
    broker: wrap(createRedisBroker({ url: REDIS_URL, prefix })),
    results: false,
    coordination,
    logger: false,
  })
  apps.push(app)
  return app
}

/** Messages waiting on `queue`, read with plain commands (ready lists and delayed set), not through the broker. */
async function depth(prefix: string, queue = 'default'): Promise<number> {
  const keys = queueKeys(prefix, queue)
  const lengths = await Promise.all(keys.ready.map((key) => raw.llen(key)))
  return lengths.reduce((a, b) => a + b, 0) + (await raw.zcard(keys.delayed))
}

/** The broker, except that its next publish (single or batch) fails as an outage would. */
const failOnce = (broker: Broker): Broker => {
  let failed = false
  return new Proxy(broker, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver)
      if (property !== 'publish' && property !== 'publishMany') return value
      return (...args: unknown[]) => {
        if (failed) return (value as (...a: unknown[]) => Promise<void>).apply(target, args)
        failed = true
        return Promise.reject(new Error('connection reset while publishing'))
      }
    },
  })
}

describe('idempotency keys on Redis', () => {
  it('a duplicate within the window returns the first id and publishes nothing, in another process too', async () => {
    const prefix = namespace('ik-dup')
    const a = producer(prefix)
    const b = producer(prefix)
    const first = await a.enqueue('order.charge', { cents: 500 }, { idempotencyKey: 'order-42' })
    const again = await a.enqueue('order.charge', { cents: 500 }, { idempotencyKey: 'order-42' })
    const elsewhere = await b.enqueue('order.charge', { cents: 500 }, { idempotencyKey: 'order-42' })
    expect(first.duplicate).toBe(false)
    expect(again).toMatchObject({ id: first.id, duplicate: true, queue: 'default' })
    expect(elsewhere).toMatchObject({ id: first.id, duplicate: true, queue: 'default' })
    expect(await depth(prefix)).toBe(1)
    // The one message is the first job, nothing lost.
    const [stored] = await raw.lrange(queueKeys(prefix, 'default').ready[0]!, 0, -1)
    expect(stored).toContain(first.id)
  })

  it('two producers racing one key publish exactly once', async () => {
    const prefix = namespace('ik-race')
    const a = producer(prefix)
    const b = producer(prefix)
    await Promise.all([a.broker.connect(), b.broker.connect(), a.coordination.connect(), b.coordination.connect()])
    const handles = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).enqueue('pay', { i }, { idempotencyKey: 'invoice-7' })),
    )
    expect(handles.filter((h) => !h.duplicate)).toHaveLength(1)
    expect(new Set(handles.map((h) => h.id)).size).toBe(1)
    expect(await depth(prefix)).toBe(1)
  })

  it('after the window expires the key publishes a new job', async () => {
    const prefix = namespace('ik-ttl')
    const a = producer(prefix)
    const b = producer(prefix)
    const first = await a.enqueue('pay', null, { idempotencyKey: 'k', idempotencyTtlMs: 300 })
    expect((await b.enqueue('pay', null, { idempotencyKey: 'k' })).id).toBe(first.id)
    await sleep(350)
    const later = await b.enqueue('pay', null, { idempotencyKey: 'k' })
    expect(later.duplicate).toBe(false)
    expect(later.id).not.toBe(first.id)
    expect(await depth(prefix)).toBe(2)
  })

  it('a failed publish releases the claim, and the retry publishes once', async () => {
    const prefix = namespace('ik-fail')
    const a = producer(prefix, failOnce)
    const b = producer(prefix)
    const key = `{${prefix}:coord}:ik:${JSON.stringify(['pay', 'k'])}`
    await expect(a.enqueue('pay', null, { idempotencyKey: 'k' })).rejects.toThrow('connection reset')
    expect(await raw.exists(key)).toBe(0)
    expect(await depth(prefix)).toBe(0)
    const retry = await a.enqueue('pay', null, { idempotencyKey: 'k' })
    expect(retry.duplicate).toBe(false)
    expect(await b.enqueue('pay', null, { idempotencyKey: 'k' })).toMatchObject({ id: retry.id, duplicate: true })
    expect(JSON.parse((await raw.get(key))!)).toEqual({ id: retry.id, queue: 'default' })
    expect(await depth(prefix)).toBe(1)
  })

  it('enqueueMany honours keys per input, duplicates inside the batch and across producers', async () => {
    const prefix = namespace('ik-many')
    const a = producer(prefix)
    const b = producer(prefix)
    const keyOf = (input: { order: string }) => input.order
    const batch = ['o1', 'o2', 'o1', 'o3'].map((order) => ({ order }))
    const [mine, theirs] = await Promise.all([
      a.enqueueMany('ship', batch, { idempotencyKey: keyOf, queue: 'ship' }),
      b.enqueueMany('ship', [{ order: 'o3' }, { order: 'o4' }], { idempotencyKey: keyOf, queue: 'ship' }),
    ])
    const byOrder = new Map<string, Set<string>>()
    for (const [inputs, handles] of [
      [batch, mine],
      [[{ order: 'o3' }, { order: 'o4' }], theirs],
    ] as const) {
      inputs.forEach((input, i) => {
        const ids = byOrder.get(input.order) ?? new Set()
        ids.add(handles[i]!.id)
        byOrder.set(input.order, ids)
      })
    }
    // One job per order, whichever producer got there first.
    for (const ids of byOrder.values()) expect(ids.size).toBe(1)
    expect(mine[2]).toMatchObject({ id: mine[0]!.id, duplicate: true })
    expect([...mine, ...theirs].filter((h) => !h.duplicate)).toHaveLength(4)
    expect(await depth(prefix, 'ship')).toBe(4)
  })

  it('enqueueMany gives back every key of a batch whose publish failed', async () => {
    const prefix = namespace('ik-many-fail')
    const a = producer(prefix, failOnce)
    const keyOf = (n: number) => `n${n}`
    await expect(a.enqueueMany('t', [1, 2, 3], { idempotencyKey: keyOf })).rejects.toThrow('connection reset')
    expect(await depth(prefix)).toBe(0)
    const handles = await a.enqueueMany('t', [1, 2, 3, 3], { idempotencyKey: keyOf })
    expect(handles.map((h) => h.duplicate)).toEqual([false, false, false, true])
    expect(await depth(prefix)).toBe(3)
  })
})
