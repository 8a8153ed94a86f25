import { expect } from 'vitest'
import type { BrokerTestTable } from '../define'
import type { Harness } from '../harness/harness'
import { TIMING } from '../harness/harness'
import { sleep } from '../harness/wait'
import type { PriorityTestId } from '../ids'

/** Publish `priorities` in that order with no consumer, then drain one at a time; resolve with the order seen. */
async function drainOrder(h: Harness, priorities: number[]): Promise<{ sent: string[]; got: string[] }> {
  const queue = h.queue()
  const broker = await h.broker()
  const sent = priorities.map((priority, i) => h.envelope(queue, { priority, payload: { i } }))
  for (const envelope of sent) await broker.publish(envelope)
  // prefetch 1 and ack-on-arrival: every pick is made among all remaining ready messages.
  const consumer = await h.consume(broker, queue, { prefetch: 1, ack: true })
  const got = await consumer.take(sent.length, h.ms(TIMING.prompt * 2), 'messages')
  return { sent: sent.map((e) => e.id), got: got.map((r) => r.delivery.envelope.id) }
}

export const priorityTests: BrokerTestTable<PriorityTestId> = {
  'priority.higher-first': {
    title: 'among ready messages the highest priority (9) is delivered first, then the next, down to 0',
    requires: (caps) =>
      caps.priorityLevels > 1 ? undefined : 'claims priorityLevels: 1 (FIFO), so priorities are not tested',
    run: async (h) => {
      const levels = (await h.capabilities()).priorityLevels
      // With all ten levels every distinct priority must be ordered; with fewer, at least the extremes.
      const priorities = levels >= 10 ? [3, 0, 9, 5, 1, 8, 2, 7, 4, 6, 0, 9] : [0, 9, 0, 9, 0, 9]
      const { sent, got } = await drainOrder(h, priorities)
      const expected = priorities
        .map((priority, i) => ({ priority, id: sent[i]!, i }))
        .sort((a, b) => b.priority - a.priority || a.i - b.i)
      if (levels >= 10) {
        // Compared as priorities first, so a failure reads "[9, 9, 8, …] vs [3, 0, 9, …]".
        const priorityOf = new Map(expected.map((e) => [e.id, e.priority]))
        expect(got.map((id) => priorityOf.get(id))).toEqual(expected.map((e) => e.priority))
        expect(got).toEqual(expected.map((e) => e.id))
      } else {
        const high = new Set(expected.filter((e) => e.priority === 9).map((e) => e.id))
        expect(got.slice(0, high.size).every((id) => high.has(id))).toBe(true)
      }
    },
  },
  'priority.kept-through-delay': {
    title: 'a delayed message keeps its priority once due: it overtakes lower-priority messages already waiting',
    requires: (caps) =>
      caps.priorityLevels <= 1
        ? 'claims priorityLevels: 1 (FIFO), so priorities are not tested'
        : caps.delayedDelivery === 'none'
          ? 'claims delayedDelivery: none, so delayed priorities are not tested'
          : undefined,
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      const urgent = h.envelope(queue, { priority: 9, notBefore: Date.now() + h.ms(TIMING.delay) })
      await broker.publish(urgent)
      for (let n = 0; n < 5; n++) await broker.publish(h.envelope(queue, { priority: 0, payload: { n } }))
      // Past its due time plus the delivery window: the urgent message is due, behind five older ones. (Brokers may
      // move due messages lazily, when a consumer asks, so this waits rather than reading stats.)
      await sleep(Math.max(0, urgent.notBefore! - Date.now()) + h.ms(TIMING.window))
      const consumer = await h.consume(broker, queue, { prefetch: 1, ack: true })
      const first = await consumer.next(h.ms(TIMING.prompt))
      expect(first.delivery.envelope.id, 'the first delivery is the priority-9 message').toBe(urgent.id)
      await consumer.take(5, h.ms(TIMING.prompt * 2), 'the priority-0 messages')
    },
  },
  'priority.fifo-within-level': {
    title: 'messages of one priority are delivered in publish order',
    run: async (h) => {
      const { sent, got } = await drainOrder(
        h,
        Array.from({ length: 20 }, () => 0),
      )
      expect(got).toEqual(sent)
    },
  },
}
