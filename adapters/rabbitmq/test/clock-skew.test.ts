import { performance } from 'node:perf_hooks'
import type { Delivery } from '@conveyor/core/adapter'
import { envelope, eventually } from '@conveyor/test-support'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { cleanup, makeBroker, uniquePrefix } from './helpers'

// The producer's clock is set apart from the worker's while it publishes (Date.now, what it stamps `notBefore`
// with and measures the remaining delay by). The delay levels count relative time on the server; the remainder
// under the smallest level is held by the consumer until `notBefore` on its own clock, and a consumer that finds a
// longer remainder re-parks it by its own clock too. The documented bound (docs/tasks-and-routing.md, "Clocks"):
// early or late by at most the skew, and nothing lost.

const LATE_MS = 1_000
const SKEW_MS = 1_500
const realNow = Date.now.bind(Date)

describe('rabbitmq with the producer’s clock apart from the worker’s', () => {
  let prefix = ''
  afterEach(async () => {
    vi.restoreAllMocks()
    await cleanup(prefix)
  })

  for (const skewMs of [SKEW_MS, -SKEW_MS]) {
    it(`runs delayed messages within the skew (${skewMs} ms), losing nothing`, async () => {
      prefix = uniquePrefix('harden-skew')
      const broker = makeBroker(prefix)
      await broker.declare({ name: 'q' })
      // Levels are [50, 200, 1000] in tests: 2,600 ms goes through 1 s levels, 150 ms through the 50 ms one.
      const delays = [150, 700, 2_600]
      const sent = new Map<string, { at: number; delay: number }>()
      for (const delay of delays) {
        // Taken before notBefore is stamped: taken after the publish call, a loaded machine's few ms in between made
        // an on-time delivery look early (1,093.8 ms against a bound of 1,098 in CI).
        const at = performance.now()
        vi.spyOn(Date, 'now').mockImplementation(() => realNow() + skewMs)
        const e = envelope('q', { notBefore: Date.now() + delay, payload: { delay } })
        const publishing = broker.publish(e)
        vi.restoreAllMocks()
        sent.set(e.id, { at, delay })
        await publishing
      }
      const arrivals: { delivery: Delivery; at: number }[] = []
      await broker.consume('q', (delivery) => arrivals.push({ delivery, at: performance.now() }), { prefetch: 10 })
      await eventually(() => arrivals.length === delays.length, 15_000, 'every delayed message')
      for (const { delivery, at } of arrivals) {
        const { at: sentAt, delay } = sent.get(delivery.envelope.id)!
        const waited = at - sentAt
        expect(waited, `delay ${delay}`).toBeGreaterThanOrEqual(delay - Math.max(0, -skewMs) - 2)
        expect(waited, `delay ${delay}`).toBeLessThanOrEqual(delay + Math.max(0, skewMs) + LATE_MS)
        await delivery.ack()
      }
      await broker.close()
    })
  }
})
