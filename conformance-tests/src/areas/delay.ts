import type { BrokerCapabilities } from '@conveyor/core/adapter'
import { expect } from 'vitest'
import type { BrokerTestTable } from '../define'
import type { Harness } from '../harness/harness'
import { TIMING } from '../harness/harness'
import { eventually, rejection } from '../harness/wait'
import type { DelayTestId } from '../ids'

const needsDelays = (caps: BrokerCapabilities) =>
  caps.delayedDelivery === 'none' ? 'claims delayedDelivery: none, so delays are not tested' : undefined

/** Publish one message due `delay` from now to a live consumer; resolve when and what arrived. */
async function delayedOnce(h: Harness) {
  const queue = h.queue()
  const broker = await h.broker()
  const consumer = await h.consume(broker, queue, { ack: true })
  const sent = h.envelope(queue, { notBefore: Date.now() + h.ms(TIMING.delay) })
  await broker.publish(sent)
  const got = await consumer.next(h.ms(TIMING.delay + TIMING.window + TIMING.prompt), 'the delayed message')
  return { sent, notBefore: sent.notBefore!, got }
}

export const delayTests: BrokerTestTable<DelayTestId> = {
  'delay.never-early': {
    title: 'a message with notBefore is not delivered before it',
    requires: needsDelays,
    run: async (h) => {
      const { sent, notBefore, got } = await delayedOnce(h)
      expect(got.at, 'delivered at (epoch ms) vs notBefore').toBeGreaterThanOrEqual(notBefore)
      expect(got.delivery.envelope).toEqual(sent)
    },
  },
  'delay.within-window': {
    title: 'a delayed message is delivered within a bounded window after notBefore',
    requires: needsDelays,
    run: async (h) => {
      const { notBefore, got } = await delayedOnce(h)
      expect(got.at - notBefore, 'ms late').toBeLessThanOrEqual(h.ms(TIMING.window))
    },
  },
  'delay.ordered-by-due-time': {
    title: 'delayed messages come out in order of due time, not of publishing',
    requires: needsDelays,
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      const consumer = await h.consume(broker, queue, { ack: true, prefetch: 1 })
      const now = Date.now()
      const dues = [3, 1, 2].map((k) => now + h.ms(TIMING.delay) * k)
      const sent = dues.map((notBefore) => h.envelope(queue, { notBefore }))
      for (const envelope of sent) await broker.publish(envelope)
      const got = await consumer.take(3, h.ms(TIMING.delay * 3 + TIMING.window + TIMING.prompt), 'delayed messages')
      const byDue = [...sent].sort((a, b) => a.notBefore! - b.notBefore!)
      expect(got.map((r) => r.delivery.envelope.id)).toEqual(byDue.map((e) => e.id))
      for (const [i, r] of got.entries()) expect(r.at).toBeGreaterThanOrEqual(byDue[i]!.notBefore!)
    },
  },
  'delay.not-blocking': {
    title: 'a message waiting for its delay does not hold back ready messages published after it',
    requires: needsDelays,
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      const consumer = await h.consume(broker, queue, { ack: true })
      const later = h.envelope(queue, { notBefore: Date.now() + h.ms(TIMING.redelivery) })
      const now = h.envelope(queue)
      await broker.publish(later)
      await broker.publish(now)
      const first = await consumer.next(h.ms(TIMING.prompt), 'the ready message behind a delayed one')
      expect(first.delivery.envelope.id).toBe(now.id)
      expect(first.at).toBeLessThan(later.notBefore!)
    },
  },
  'delay.counted-as-delayed': {
    title: 'stats count a waiting message as delayed, not ready; purge removes it',
    requires: needsDelays,
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      await broker.publish(h.envelope(queue, { notBefore: Date.now() + h.ms(TIMING.redelivery * 2) }))
      const stats = await eventually(
        () => broker.stats(queue),
        (s) => s.delayed === 1,
        h.ms(TIMING.prompt),
        'delayed count',
      )
      expect(stats).toMatchObject({ ready: 0, inFlight: 0, delayed: 1 })
      expect(await (await h.inspector()).ready(queue)).toBe(0)
      expect(await broker.purge(queue)).toBe(1)
      expect(await broker.stats(queue)).toMatchObject({ ready: 0, delayed: 0 })
    },
  },
  'delay.survives-restart': {
    title: 'a delayed message is held by the broker: a crash before it is due does not lose it',
    requires: needsDelays,
    run: async (h) => {
      const queue = h.queue()
      const crashed = await h.broker()
      const sent = h.envelope(queue, { notBefore: Date.now() + h.ms(TIMING.delay) })
      await crashed.publish(sent)
      await crashed.destroy()
      const consumer = await h.consume(await h.broker(), queue, { ack: true })
      const got = await consumer.next(h.ms(TIMING.delay + TIMING.window + TIMING.prompt), 'the delayed message')
      expect(got.delivery.envelope).toEqual(sent)
      expect(got.at).toBeGreaterThanOrEqual(sent.notBefore!)
    },
  },
  'delay.past-is-immediate': {
    title: 'a notBefore in the past is no delay: the message is delivered at once',
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      const consumer = await h.consume(broker, queue, { ack: true })
      const sent = h.envelope(queue, { notBefore: Date.now() - 60_000 })
      await broker.publish(sent)
      const got = await consumer.next(h.ms(TIMING.prompt), 'a message due in the past')
      expect(got.delivery.envelope).toEqual(sent)
    },
  },
  'delay.unsupported-rejects': {
    title: 'a broker without delayed delivery rejects a delayed publish with UnsupportedError',
    requires: (caps) =>
      caps.delayedDelivery === 'none'
        ? undefined
        : `claims delayedDelivery: ${caps.delayedDelivery}; delays are tested by the other delay.* tests`,
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      const error = await rejection(
        broker.publish(h.envelope(queue, { notBefore: Date.now() + 60_000 })),
        'publishing a delayed message',
      )
      expect(error).toMatchObject({ code: 'CONVEYOR_UNSUPPORTED' })
      expect(await broker.stats(queue)).toMatchObject({ ready: 0 })
    },
  },
}
