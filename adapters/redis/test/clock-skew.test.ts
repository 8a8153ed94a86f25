import { performance } from 'node:perf_hooks'
import type { Delivery } from '@conveyor/core/adapter'
import { deletePrefix, envelope, REDIS_URL, rawRedis, sleep, uniquePrefix } from '@conveyor/test-support'
import type { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createRedisBroker } from '../src/index'
import { until } from './helpers'

// This process's clock (Date.now, what producers and workers stamp envelopes with) is set minutes away from the
// Redis server's; elapsed time is measured on the monotonic clock. Redis schedules on its own clock (TIME), so a
// delay or a retry's backoff is neither early nor late by the skew, and leases (Redis-side too) hold.

/** How late a due message may arrive: a fetch or two (the timing conformance tests use the same second). */
const LATE_MS = 1_000
/** TIME is read in whole milliseconds: a due time may be up to 1 ms before the exact instant. */
const EARLY_MS = 2

let raw: Redis
const prefixes: string[] = []
beforeAll(async () => {
  raw = await rawRedis()
})
afterEach(() => {
  vi.restoreAllMocks()
})
afterAll(async () => {
  for (const prefix of prefixes) await deletePrefix(raw, prefix)
  raw.disconnect()
})

const realNow = Date.now.bind(Date)

for (const skewMs of [120_000, -120_000]) {
  describe(`redis with this process's clock ${skewMs > 0 ? 'ahead of' : 'behind'} Redis's by ${Math.abs(skewMs) / 1000} s`, () => {
    it('runs delayed messages and retries on time, and keeps leases, losing nothing', async () => {
      vi.spyOn(Date, 'now').mockImplementation(() => realNow() + skewMs)
      const prefix = uniquePrefix('harden-skew')
      prefixes.push(prefix)
      const broker = createRedisBroker({ url: REDIS_URL, prefix, leaseMs: 300, logger: false })
      const delays = [150, 600, 1_300]
      const sentAt = new Map<string, { at: number; delay: number }>()
      for (const delay of delays) {
        const e = envelope('q', { notBefore: Date.now() + delay, payload: { delay } })
        sentAt.set(e.id, { at: performance.now(), delay })
        await broker.publish(e)
      }
      const arrivals: { delivery: Delivery; at: number }[] = []
      await broker.consume('q', (delivery) => arrivals.push({ delivery, at: performance.now() }), { prefetch: 10 })
      await until(() => arrivals.length === delays.length, 10_000, 'every delayed message')
      for (const { delivery, at } of arrivals) {
        const sent = sentAt.get(delivery.envelope.id)!
        const waited = at - sent.at
        expect(waited, `delay ${sent.delay}`).toBeGreaterThanOrEqual(sent.delay - EARLY_MS)
        expect(waited, `delay ${sent.delay}`).toBeLessThanOrEqual(sent.delay + LATE_MS)
      }
      // A retry's backoff, from the worker's side.
      const first = arrivals[0]!.delivery
      const retriedAt = performance.now()
      await first.retry(700)
      await until(() => arrivals.length === delays.length + 1, 10_000, 'the retry')
      const retried = arrivals.at(-1)!
      expect(retried.delivery.envelope.attempt).toBe(2)
      expect(retried.at - retriedAt).toBeGreaterThanOrEqual(700 - EARLY_MS)
      expect(retried.at - retriedAt).toBeLessThanOrEqual(700 + LATE_MS)
      // Held for several leases while this process lives: never handed out again.
      await sleep(1_200)
      expect(arrivals).toHaveLength(delays.length + 1)
      for (const { delivery } of arrivals.slice(1)) await delivery.ack()
      expect(await broker.stats('q')).toMatchObject({ ready: 0, delayed: 0, inFlight: 0 })
      await broker.close()
    })
  })
}
