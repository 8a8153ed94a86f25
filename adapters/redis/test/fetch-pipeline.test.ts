import type { Delivery } from '@conveyor/core/adapter'
import { envelope, sleep } from '@conveyor/test-support'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisBroker } from '../src/index'
import { queueKeys } from '../src/keys'
import { until } from './helpers'
import { type PrivateRedis, startPrivateRedis } from './servers'

// A consumer keeps a second fetch in flight while it handles the first half of its slots. These tests check what a
// user relies on through that: prefetch is never exceeded, priorities still lead, nothing is lost or doubled, and
// the acks keep riding in the fetches. A private server, so script-call counts are this file's alone.
let server: PrivateRedis
let url: string
let raw: Redis

beforeAll(async () => {
  server = await startPrivateRedis()
  url = `redis://127.0.0.1:${server.port}`
  raw = new Redis(url)
}, 30_000)
afterAll(async () => {
  raw?.disconnect()
  await server?.stop()
})

const scriptCalls = async () => {
  const line = (await raw.info('commandstats')).split('\n').find((l) => l.startsWith('cmdstat_evalsha:'))
  return Number(/calls=(\d+)/.exec(line ?? '')?.[1] ?? 0)
}

describe('redis fetch pipelining', () => {
  it('never holds more than prefetch unsettled, and delivers every message once', async () => {
    const prefix = 'pipe-bound'
    const broker = createRedisBroker({ url, prefix, logger: false })
    const total = 600
    const prefetch = 8
    await broker.publishMany!(
      Array.from({ length: total }, (_, i) => envelope('q', { payload: i, priority: i % 3 === 0 ? 7 : 2 })),
    )
    const inflight = queueKeys(prefix, 'q').inflight
    const seen = new Set<string>()
    let unsettled = 0
    let mostUnsettled = 0
    let counts = 0
    await broker.consume(
      'q',
      (d) => {
        seen.add(d.envelope.id)
        counts += d.deliveryCount
        unsettled++
        mostUnsettled = Math.max(mostUnsettled, unsettled)
        // Uneven handler times, so the two fetches drift apart and free slots at different moments.
        setTimeout(() => {
          unsettled--
          void d.ack()
        }, seen.size % 4)
      },
      { prefetch },
    )
    await until(() => seen.size === total, 20_000, 'every message')
    // Checked in the store: every ack landed, nothing is left in flight or ready.
    await until(async () => (await raw.hlen(inflight)) === 0, 5000, 'the last acks')
    expect(await raw.llen(queueKeys(prefix, 'q').ready[7]!)).toBe(0)
    expect(seen.size).toBe(total)
    expect(counts).toBe(total)
    expect(mostUnsettled).toBe(prefetch)
    await broker.close()
  })

  it('fetches the next half while the first is still held, highest priority first', async () => {
    const broker = createRedisBroker({ url, prefix: 'pipe-prio', logger: false })
    await broker.publishMany!(Array.from({ length: 10 }, (_, i) => envelope('q', { payload: `low-${i}`, priority: 1 })))
    const got: Delivery[] = []
    await broker.consume('q', (d) => got.push(d), { prefetch: 4 })
    await until(() => got.length === 4, 5000, 'the first four')
    await sleep(50)
    expect(got.length).toBe(4)
    await broker.publishMany!(Array.from({ length: 4 }, (_, i) => envelope('q', { payload: `high-${i}`, priority: 8 })))
    // Half the slots free while the other half is still held: the next fetch goes out for them at once.
    await got[0]!.ack()
    await got[1]!.ack()
    await until(() => got.length === 6, 5000, 'two more while two are held')
    await sleep(50)
    expect(got.length).toBe(6)
    await got[2]!.ack()
    await got[3]!.ack()
    await until(() => got.length === 8, 5000, 'the rest of the slots')
    expect(got.slice(4).map((d) => d.envelope.payload)).toEqual(['high-0', 'high-1', 'high-2', 'high-3'])
    for (const d of got.slice(4)) await d.ack()
    await broker.close()
  })

  it('fills a prefetch many batches wide, and no further', async () => {
    const broker = createRedisBroker({ url, prefix: 'pipe-wide', maxBatch: 4, logger: false })
    await broker.publishMany!(Array.from({ length: 40 }, (_, i) => envelope('q', { payload: i })))
    const got: Delivery[] = []
    await broker.consume('q', (d) => got.push(d), { prefetch: 20 })
    await until(() => got.length === 20, 5000, 'twenty held')
    await sleep(100)
    expect(got.length).toBe(20)
    expect(got.map((d) => d.envelope.payload)).toEqual(Array.from({ length: 20 }, (_, i) => i))
    for (const d of got.slice(0, 20)) await d.ack()
    await until(() => got.length === 40, 5000, 'the other twenty')
    for (const d of got.slice(20)) await d.ack()
    await broker.close()
  })

  it('keeps acks riding in fetches: about one script call per half prefetch of messages', async () => {
    const broker = createRedisBroker({ url, prefix: 'pipe-calls', logger: false })
    const total = 2000
    const prefetch = 50
    await broker.publishMany!(Array.from({ length: total }, (_, i) => envelope('q', { payload: i })))
    const before = await scriptCalls()
    let done = 0
    await broker.consume(
      'q',
      (d) => {
        // Settled a few microtasks later, as a worker's async handler does.
        void Promise.resolve()
          .then(() => d.ack())
          .then(() => done++)
      },
      { prefetch },
    )
    await until(() => done === total, 20_000, 'all acks')
    const calls = (await scriptCalls()) - before
    // Fetches of prefetch/2 carrying the previous acks: total / 25 = 80; acks sent on their own would double it.
    expect(calls).toBeGreaterThanOrEqual(total / prefetch)
    expect(calls).toBeLessThanOrEqual((total / (prefetch / 2)) * 1.25 + 5)
    await broker.close()
  })

  it('drains with two fetches out, then still wakes at once for a publish', async () => {
    const broker = createRedisBroker({ url, prefix: 'pipe-wake', logger: false })
    const got: number[] = []
    await broker.consume(
      'q',
      (d) => {
        got.push(Date.now())
        void d.ack()
      },
      { prefetch: 10 },
    )
    for (let round = 1; round <= 5; round++) {
      await sleep(30)
      const sent = Date.now()
      await broker.publishMany!(Array.from({ length: round * 3 }, () => envelope('q')))
      await until(() => got.length === (round * (round + 1) * 3) / 2, 2000, `round ${round}`)
      // Woken by the publish itself, not by the 5 s block timeout.
      expect(got.at(-1)! - sent).toBeLessThan(1000)
    }
    await broker.close()
  })
})
