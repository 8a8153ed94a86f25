import { type Delivery, type Envelope, toErrorInfo } from '@conveyor/core/adapter'
import { envelope, REDIS_URL, uniquePrefix } from '@conveyor/test-support'
import { describe, expect, it } from 'vitest'
import { decodeStored } from '../src/codec'
import { createRedisBroker } from '../src/index'
import { queueKeys } from '../src/keys'
import { redisScratch, until } from './helpers'

// Two runs enqueued with the same caller-chosen id (EnqueueOptions.id) that both die are two dead letters, both
// listed under that id. Replay and purge by id take every one of them, as the memory and RabbitMQ brokers do.
const scratch = redisScratch()
const prefixes = scratch.prefixes

const setup = () => {
  const prefix = uniquePrefix('dl-same-id')
  prefixes.push(prefix)
  return { broker: createRedisBroker({ url: REDIS_URL, prefix, logger: false }), keys: queueKeys(prefix, 'q') }
}

async function deadLetterEach(broker: ReturnType<typeof createRedisBroker>, envelopes: Envelope[]) {
  for (const sent of envelopes) {
    await broker.publish(sent)
    const got: Delivery[] = []
    const sub = await broker.consume('q', (d) => got.push(d), { prefetch: 1 })
    await until(() => got.length === 1)
    await got[0]!.deadLetter('max-attempts', toErrorInfo(new Error('x')))
    await sub.cancel()
  }
}

// Separate runs: same id, different enqueue times. One more whose id merely starts with the reused id and '~'.
const runs = (id: string) => [
  envelope('q', { id, createdAt: 1000, payload: 1 }),
  envelope('q', { id, createdAt: 2000, payload: 2 }),
  envelope('q', { id: `${id}~2`, payload: 3 }),
]

describe('redis dead letters of runs that share an id', () => {
  it('replay({ ids }) puts back every dead letter of the id, and only those', async () => {
    const { broker, keys } = setup()
    await deadLetterEach(broker, runs('order-1'))
    expect((await broker.deadLetters.list('q')).map((d) => d.id)).toEqual(['order-1', 'order-1', 'order-1~2'])
    expect(await broker.deadLetters.replay('q', { ids: ['order-1'] })).toBe(2)
    // Both runs are back on the live queue, read through the store, oldest first.
    const ready = (await scratch.raw.lrange(keys.ready[0]!, 0, -1)).map((stored) => decodeStored(stored, 'q'))
    expect(ready.map((e) => [e.id, e.createdAt])).toEqual([
      ['order-1', 1000],
      ['order-1', 2000],
    ])
    expect((await broker.deadLetters.list('q')).map((d) => d.id)).toEqual(['order-1~2'])
    expect(await broker.deadLetters.replay('q', { ids: ['order-1'] })).toBe(0)
    await broker.close()
  })

  it('purge(ids) removes every dead letter of the id, and only those', async () => {
    const { broker, keys } = setup()
    await deadLetterEach(broker, runs('order-2'))
    expect(await broker.deadLetters.purge('q', ['order-2'])).toBe(2)
    expect((await broker.deadLetters.list('q')).map((d) => d.id)).toEqual(['order-2~2'])
    expect(await scratch.raw.hlen(keys.deadRecords)).toBe(1)
    expect(await broker.deadLetters.purge('q', ['order-2'])).toBe(0)
    expect(await broker.deadLetters.purge('q')).toBe(1)
    expect(await scratch.raw.exists(keys.dead, keys.deadRecords)).toBe(0)
    await broker.close()
  })
})
