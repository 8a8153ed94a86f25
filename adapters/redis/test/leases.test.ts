import type { Delivery } from '@conveyor/core/adapter'
import { deletePrefix, envelope, REDIS_URL, rawRedis, sleep, uniquePrefix } from '@conveyor/test-support'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisBroker } from '../src/index'
import { until } from './helpers'

let raw: Redis
const prefixes: string[] = []

const make = (prefix: string, leaseMs: number) => createRedisBroker({ url: REDIS_URL, prefix, leaseMs, logger: false })

beforeAll(async () => {
  raw = await rawRedis()
})
afterAll(async () => {
  for (const prefix of prefixes) await deletePrefix(raw, prefix)
  raw.disconnect()
})

describe('redis leases', () => {
  it('gives a destroyed consumer’s deliveries back after the lease, to exactly one live consumer, count kept', async () => {
    const prefix = uniquePrefix('lease')
    prefixes.push(prefix)
    const crashed = make(prefix, 300)
    await crashed.publish(envelope('q', { payload: 'a' }))
    await crashed.publish(envelope('q', { payload: 'b' }))
    const first: Delivery[] = []
    // The lease starts when the fetch runs, after this instant: "not before the lease ran out" is measured from here
    // (from the destroy it would depend on how long a loaded machine took to notice the deliveries).
    const leasedAfter = Date.now()
    await crashed.consume('q', (d) => first.push(d), { prefetch: 10 })
    await until(() => first.length === 2)
    const destroyedAt = Date.now()
    await crashed.destroy()
    await expect(first[0]!.ack()).rejects.toMatchObject({ code: 'CONVEYOR_NOT_CONNECTED' })

    // Two live consumers race for the reclaimed messages: each message goes to one of them, once.
    const live = [make(prefix, 300), make(prefix, 300)]
    const got: Delivery[] = []
    for (const broker of live) await broker.consume('q', (d) => got.push(d), { prefetch: 10 })
    await until(() => got.length === 2, 5000)
    expect(Date.now() - leasedAfter).toBeGreaterThanOrEqual(295)
    expect(Date.now() - destroyedAt).toBeLessThan(3000)
    expect(got.map((d) => d.envelope.payload).sort()).toEqual(['a', 'b'])
    expect(got.every((d) => d.deliveryCount === 2)).toBe(true)
    await sleep(700)
    expect(got.length).toBe(2)
    for (const d of got) await d.ack()
    for (const broker of live) await broker.close()
  })

  it('keeps the delivery count across new broker instances (a message that kills its consumer every time)', async () => {
    const prefix = uniquePrefix('count')
    prefixes.push(prefix)
    await make(prefix, 100).publish(envelope('q'))
    for (let round = 1; round <= 3; round++) {
      const broker = make(prefix, 100)
      const got: Delivery[] = []
      await broker.consume('q', (d) => got.push(d), { prefetch: 1 })
      await until(() => got.length === 1, 3000)
      expect(got[0]!.deliveryCount).toBe(round)
      await broker.destroy()
    }
    const broker = make(prefix, 100)
    const got: Delivery[] = []
    await broker.consume('q', (d) => got.push(d), { prefetch: 1 })
    await until(() => got.length === 1, 3000)
    await got[0]!.deadLetter('max-deliveries')
    const [dead] = await broker.deadLetters.list('q')
    expect(dead).toMatchObject({ reason: 'max-deliveries', deliveryCount: 4 })
    await broker.close()
  })

  it('extends leases while a delivery is held, so a long task is not redelivered while its holder lives', async () => {
    const prefix = uniquePrefix('extend')
    prefixes.push(prefix)
    const holder = make(prefix, 400)
    const other = make(prefix, 400)
    await holder.publish(envelope('q'))
    const held: Delivery[] = []
    await holder.consume('q', (d) => held.push(d), { prefetch: 1 })
    await until(() => held.length === 1)
    const stolen: Delivery[] = []
    await other.consume('q', (d) => stolen.push(d), { prefetch: 1 })
    await sleep(1500) // several leases
    expect(stolen.length).toBe(0)
    expect((await holder.stats('q')).inFlight).toBe(1)
    await held[0]!.ack()
    await holder.close()
    await other.close()
  })

  it('a held delivery whose lease was lost rejects its settle and frees the prefetch slot', async () => {
    const prefix = uniquePrefix('lost')
    prefixes.push(prefix)
    const broker = make(prefix, 200)
    await broker.publish(envelope('q', { payload: 1 }))
    await broker.publish(envelope('q', { payload: 2 }))
    const got: Delivery[] = []
    await broker.consume('q', (d) => got.push(d), { prefetch: 1 })
    await until(() => got.length === 1)
    // Take it back behind the holder's back, as a reclaim by another consumer after a stall would.
    const tag = `{${prefix}:q}`
    const [token] = await raw.zrange(`${tag}:l`, 0, 0)
    const stored = (await raw.hget(`${tag}:f`, token!))!
    await raw.multi().zrem(`${tag}:l`, token!).hdel(`${tag}:f`, token!).lpush(`${tag}:r0`, stored.slice(1)).exec()
    // The next extension notices; the slot frees, and the consumer goes on with the message again, then the next.
    await until(() => got.length >= 2, 3000)
    expect(got[1]!.envelope.payload).toBe(1)
    expect(got[1]!.deliveryCount).toBe(2)
    await expect(got[0]!.ack()).rejects.toMatchObject({ code: 'CONVEYOR_DELIVERY_SETTLED' })
    await broker.close()
  })
})
