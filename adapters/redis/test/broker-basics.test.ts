import { DeliverySettledError } from '@conveyor/core'
import type { Delivery, Envelope } from '@conveyor/core/adapter'
import { deletePrefix, envelope, REDIS_URL, rawRedis, sleep, uniquePrefix } from '@conveyor/test-support'
import type { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createRedisBroker } from '../src/index'
import { until } from './helpers'

let raw: Redis
const prefixes: string[] = []
const brokers: ReturnType<typeof createRedisBroker>[] = []

const make = (prefix = uniquePrefix('basics'), leaseMs = 1000) => {
  prefixes.push(prefix)
  const broker = createRedisBroker({ url: REDIS_URL, prefix, leaseMs, logger: false })
  brokers.push(broker)
  return { broker, prefix }
}

const collect = async (broker: ReturnType<typeof createRedisBroker>, queue: string, prefetch = 10) => {
  const got: Delivery[] = []
  const sub = await broker.consume(queue, (d) => got.push(d), { prefetch })
  return { got, sub }
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

describe('redis broker basics', () => {
  it('delivers what was published, field for field, and acks remove it', async () => {
    const { broker, prefix } = make()
    const sent: Envelope = envelope('q', {
      payload: { deep: [1, 'two', { three: null }], unicode: 'héllo ✓' },
      priority: 3,
      expiresAt: Date.now() + 60_000,
      parentId: 'p1',
      rootId: 'r1',
      trace: { traceparent: '00-abc-def-01' },
      headers: { h: 'v' },
    })
    await broker.publish(sent)
    const { got } = await collect(broker, 'q')
    await until(() => got.length === 1)
    expect(got[0]!.envelope).toEqual(sent)
    expect(got[0]!.deliveryCount).toBe(1)
    expect(await broker.stats('q')).toEqual({ ready: 0, inFlight: 1, delayed: 0, dead: 0 })
    await got[0]!.ack()
    expect(await broker.stats('q')).toEqual({ ready: 0, inFlight: 0, delayed: 0, dead: 0 })
    await expect(got[0]!.ack()).rejects.toBeInstanceOf(DeliverySettledError)
    // Stored compactly under the queue's hash tag.
    expect(await raw.exists(`{${prefix}:q}:f`)).toBe(0)
  })

  it('delivers highest priority first and FIFO within a level', async () => {
    const { broker } = make()
    const sent: Envelope[] = []
    for (let i = 0; i < 30; i++) {
      const e = envelope('q', { priority: i % 10, payload: i })
      sent.push(e)
      await broker.publish(e)
    }
    const { got } = await collect(broker, 'q', 100)
    await until(() => got.length === 30)
    const order = got.map((d) => d.envelope.payload as number)
    const expected = [...sent]
      .sort((a, b) => b.priority - a.priority || (a.payload as number) - (b.payload as number))
      .map((e) => e.payload)
    expect(order).toEqual(expected)
  })

  it('never delivers a delayed message early, and wakes a blocked consumer for it', async () => {
    const { broker } = make()
    const { got } = await collect(broker, 'q')
    await sleep(50) // the consumer is now blocked on an empty queue
    const notBefore = Date.now() + 300
    await broker.publish(envelope('q', { notBefore }))
    expect((await broker.stats('q')).delayed).toBe(1)
    await until(() => got.length === 1, 3000)
    const at = Date.now()
    expect(at).toBeGreaterThanOrEqual(notBefore)
    // Woken at the due time, not at the next poll (bound generous for a loaded CI machine).
    expect(at - notBefore).toBeLessThan(1000)
  })

  it('honours prefetch and wakes blocked consumers on publish without polling', async () => {
    const { broker } = make()
    const { got } = await collect(broker, 'q', 3)
    await sleep(100)
    for (let i = 0; i < 10; i++) await broker.publish(envelope('q', { payload: i }))
    await until(() => got.length === 3)
    await sleep(50)
    expect(got.length).toBe(3)
    await Promise.all(got.map((d) => d.ack()))
    await until(() => got.length === 6)
  })

  it('retry puts the next attempt back not before its delay, with the delivery count reset', async () => {
    const { broker } = make()
    await broker.publish(envelope('q'))
    const { got } = await collect(broker, 'q')
    await until(() => got.length === 1)
    const before = Date.now()
    await got[0]!.retry(200)
    await until(() => got.length === 2, 3000)
    expect(Date.now() - before).toBeGreaterThanOrEqual(200)
    expect(got[1]!.envelope.attempt).toBe(2)
    expect(got[1]!.envelope.id).toBe(got[0]!.envelope.id)
    expect(got[1]!.deliveryCount).toBe(1)
    await expect(got[0]!.ack()).rejects.toBeInstanceOf(DeliverySettledError)
  })

  it('release gives a message back ahead of newer ones without counting the delivery', async () => {
    const { broker } = make()
    const first = envelope('q', { payload: 'first' })
    await broker.publish(first)
    const one = await collect(broker, 'q', 1)
    await until(() => one.got.length === 1)
    await one.sub.cancel()
    await broker.publish(envelope('q', { payload: 'second' }))
    await one.got[0]!.release()
    const two = await collect(broker, 'q', 10)
    await until(() => two.got.length === 2)
    expect(two.got.map((d) => d.envelope.payload)).toEqual(['first', 'second'])
    expect(two.got[0]!.deliveryCount).toBe(1)
  })

  it('dead letters: list (paged), replay (one, all), purge, counts', async () => {
    const { broker } = make()
    for (let i = 0; i < 5; i++) await broker.publish(envelope('q', { payload: i, attempt: 2 }))
    const { got, sub } = await collect(broker, 'q', 10)
    await until(() => got.length === 5)
    await sub.cancel()
    for (const d of got) await d.deadLetter('max-attempts', { name: 'Error', message: `boom ${d.envelope.payload}` })
    expect(await broker.deadLetters.count('q')).toBe(5)
    const page = await broker.deadLetters.list('q', { offset: 1, limit: 2 })
    expect(page.map((d) => d.envelope?.payload)).toEqual([1, 2])
    expect(page[0]).toMatchObject({ queue: 'q', reason: 'max-attempts', attempts: 2, deliveryCount: 1 })
    expect(page[0]!.error?.message).toBe('boom 1')
    const id3 = got[3]!.envelope.id
    expect(await broker.deadLetters.replay('q', { ids: [id3] })).toBe(1)
    expect(await broker.deadLetters.replay('q', { limit: 2 })).toBe(2)
    expect(await broker.deadLetters.count('q')).toBe(2)
    expect(await broker.deadLetters.purge('q', [got[4]!.envelope.id])).toBe(1)
    expect(await broker.deadLetters.purge('q')).toBe(1)
    expect(await broker.stats('q')).toMatchObject({ ready: 3, inFlight: 0, delayed: 0, dead: 0 })
    const again = await collect(broker, 'q', 10)
    await until(() => again.got.length === 3)
    expect(again.got.map((d) => d.envelope.payload)).toEqual([3, 0, 1])
    expect(again.got.every((d) => d.envelope.attempt === 1)).toBe(true)
  })

  it('dead-letters malformed bodies with the raw body and keeps consuming', async () => {
    const { broker } = make()
    await broker.publishRaw('q', 'not json {')
    await broker.publishRaw('q', JSON.stringify({ id: 'x' }))
    await broker.publishRaw('q', '\u0002sneaky')
    const good = envelope('q')
    await broker.publishRaw('q', JSON.stringify(good))
    const { got } = await collect(broker, 'q')
    await until(() => got.length === 1)
    expect(got[0]!.envelope).toEqual(good)
    await until(async () => (await broker.deadLetters.count('q')) === 3)
    const dead = await broker.deadLetters.list('q')
    expect(dead.map((d) => d.raw)).toEqual(['not json {', JSON.stringify({ id: 'x' }), '\u0002sneaky'])
    expect(dead.every((d) => d.reason === 'malformed' && d.envelope === undefined)).toBe(true)
    expect(await broker.deadLetters.replay('q')).toBe(0)
  })

  it('purge removes ready and delayed messages only', async () => {
    const { broker } = make()
    await broker.publish(envelope('q'))
    await broker.publish(envelope('q', { priority: 9 }))
    await broker.publish(envelope('q', { notBefore: Date.now() + 60_000 }))
    expect(await broker.purge('q')).toBe(3)
    expect(await broker.stats('q')).toEqual({ ready: 0, inFlight: 0, delayed: 0, dead: 0 })
  })

  it('close releases what is still held, uncounted, and rejects later publishes', async () => {
    const { broker, prefix } = make()
    await broker.publish(envelope('q'))
    const { got } = await collect(broker, 'q')
    await until(() => got.length === 1)
    await broker.close({ timeoutMs: 50 })
    await expect(broker.publish(envelope('q'))).rejects.toMatchObject({ code: 'CONVEYOR_NOT_CONNECTED' })
    await expect(got[0]!.ack()).rejects.toBeInstanceOf(DeliverySettledError)
    const next = make(prefix).broker
    const again = await collect(next, 'q')
    await until(() => again.got.length === 1)
    expect(again.got[0]!.deliveryCount).toBe(1)
  })

  it('with durability, a publish still queued when the broker is destroyed rejects and opens no connection', async () => {
    const prefix = uniquePrefix('basics-durable')
    prefixes.push(prefix)
    const broker = createRedisBroker({
      url: REDIS_URL,
      prefix,
      logger: false,
      durability: { replicas: 1, timeoutMs: 100 },
    })
    await broker.connect()
    // Queued for the end of this tick's batch; the destroy comes first.
    const publishing = broker.publish(envelope('q'))
    await broker.destroy()
    await expect(publishing).rejects.toMatchObject({ code: 'CONVEYOR_NOT_CONNECTED' })
    await sleep(200)
    // Confirmed writes have a connection of their own, made on first use: not by a destroyed broker.
    expect(await raw.client('LIST')).not.toContain(`name=conveyor:${prefix}:confirm`)
    // Nor did the destroyed broker write the message.
    const other = make(prefix).broker
    expect(await other.stats('q')).toEqual({ ready: 0, inFlight: 0, delayed: 0, dead: 0 })
  })

  it('rejects messages above maxMessageBytes', async () => {
    const prefix = uniquePrefix('size')
    prefixes.push(prefix)
    const broker = createRedisBroker({ url: REDIS_URL, prefix, maxMessageBytes: 200, logger: false })
    brokers.push(broker)
    await expect(broker.publish(envelope('q', { payload: 'x'.repeat(300) }))).rejects.toMatchObject({
      code: 'CONVEYOR_PAYLOAD_TOO_LARGE',
    })
  })
})
