import type { BrokerCapabilities } from '@conveyor/core/adapter'
import { expect } from 'vitest'
import type { BrokerTestTable } from '../define'
import type { Harness } from '../harness/harness'
import { TIMING } from '../harness/harness'
import { eventually } from '../harness/wait'
import type { RetryTestId } from '../ids'
import { policyAttempts, policyBackoff } from './app-scenarios'

const needsDelays = (caps: BrokerCapabilities) =>
  caps.delayedDelivery === 'none'
    ? 'claims delayedDelivery: none, so retry delays are not held by the broker'
    : undefined

/** Receive a message, retry it with `delayMs`, and return when the retry was asked and when it came back. */
async function retryOnce(h: Harness, delayMs: number) {
  const queue = h.queue()
  const broker = await h.broker()
  const sent = h.envelope(queue)
  await broker.publish(sent)
  const consumer = await h.consume(broker, queue)
  const first = await consumer.next(h.ms(TIMING.prompt))
  const askedAt = Date.now()
  await first.delivery.retry(delayMs)
  const again = await consumer.next(delayMs + h.ms(TIMING.window + TIMING.prompt), 'the retried message')
  await again.delivery.ack()
  return { sent, askedAt, again }
}

export const retryTests: BrokerTestTable<RetryTestId> = {
  'retry.attempt-incremented': {
    title: 'retry puts the message back with attempt + 1, the rest of the envelope unchanged, deliveryCount reset',
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      const sent = h.envelope(queue, { payload: { keep: ['me', 1] }, maxAttempts: 5 })
      await broker.publish(sent)
      const consumer = await h.consume(broker, queue)
      const counted = (await h.capabilities()).deliveryCount
      let current = await consumer.next(h.ms(TIMING.prompt))
      for (const attempt of [2, 3]) {
        await current.delivery.retry(0)
        current = await consumer.next(h.ms(TIMING.prompt), `attempt ${attempt}`)
        const { notBefore: _ignored, ...rest } = current.delivery.envelope
        expect(rest).toEqual({ ...sent, attempt })
        if (counted) expect(current.delivery.deliveryCount).toBe(1)
      }
      await current.delivery.ack()
      // Each retry replaced the message: nothing of the earlier attempts is left ready or held.
      const stats = await eventually(
        () => broker.stats(queue),
        (s) => s.ready === 0 && s.inFlight === 0 && s.delayed === 0,
        h.ms(TIMING.prompt),
        'stats after retrying twice and acking',
      )
      expect(stats).toMatchObject({ ready: 0, inFlight: 0, delayed: 0 })
      expect(await (await h.inspector()).ready(queue)).toBe(0)
      await consumer.none(h.ms(TIMING.quiet), 'a duplicate of a retried message')
    },
  },
  'retry.never-early': {
    title: 'a retried message is not delivered before its delay',
    requires: needsDelays,
    run: async (h) => {
      const delay = h.ms(TIMING.delay)
      const { askedAt, again } = await retryOnce(h, delay)
      expect(again.at - askedAt, 'ms between retry(delay) and the next delivery').toBeGreaterThanOrEqual(delay)
    },
  },
  'retry.within-window': {
    title: 'a retried message is delivered within a bounded window after its delay',
    requires: needsDelays,
    run: async (h) => {
      const delay = h.ms(TIMING.delay)
      const { askedAt, again } = await retryOnce(h, delay)
      expect(again.at - askedAt, 'ms between retry(delay) and the next delivery').toBeLessThanOrEqual(
        delay + h.ms(TIMING.window),
      )
    },
  },
  'retry.survives-restart': {
    title: 'a retry waiting for its delay is held by the broker: a crash does not lose it',
    requires: needsDelays,
    run: async (h) => {
      const queue = h.queue()
      const crashed = await h.broker()
      const sent = h.envelope(queue)
      await crashed.publish(sent)
      const victim = await h.consume(crashed, queue)
      const first = await victim.next(h.ms(TIMING.prompt))
      const delay = h.ms(TIMING.delay)
      const askedAt = Date.now()
      await first.delivery.retry(delay)
      await crashed.destroy()
      const consumer = await h.consume(await h.broker(), queue)
      const again = await consumer.next(delay + h.ms(TIMING.redelivery), 'the retry after a crash')
      expect(again.delivery.envelope).toMatchObject({ id: sent.id, attempt: 2 })
      expect(again.at - askedAt).toBeGreaterThanOrEqual(delay)
      await again.delivery.ack()
    },
  },
  'retry.policy-attempts': {
    title: "core's retry policy on this broker: a failing task runs attempts 1, 2, 3 and then succeeds",
    timeoutMs: 20_000,
    run: policyAttempts,
  },
  'retry.policy-backoff': {
    title: "core's retry policy on this broker: gaps between attempts follow the backoff, never shorter",
    requires: needsDelays,
    timeoutMs: 20_000,
    run: policyBackoff,
  },
}
