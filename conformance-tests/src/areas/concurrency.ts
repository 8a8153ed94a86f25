import type { Delivery } from '@conveyor/core/adapter'
import { expect } from 'vitest'
import type { BrokerTestTable } from '../define'
import { ConformanceFailure } from '../harness/failure'
import type { Harness } from '../harness/harness'
import { TIMING } from '../harness/harness'
import { eventually, sleep } from '../harness/wait'
import type { ConcurrencyTestId } from '../ids'

interface Swarm {
  readonly sent: string[]
  /** Every delivery, in arrival order, with the consumer that got it. */
  readonly deliveries: { id: string; consumer: number }[]
  /** Moments a message was handed to a consumer while another live consumer still held it. */
  readonly doubleHolds: string[]
}

/**
 * `instances` broker instances (think processes) × `perInstance` subscriptions compete for `messages` messages;
 * each handler holds its delivery for a random moment, then acks.
 */
async function swarm(h: Harness, messages: number, instances = 2, perInstance = 2, holdMs = 5): Promise<Swarm> {
  const queue = h.queue()
  const brokers = []
  for (let i = 0; i < instances; i++) brokers.push(await h.broker())
  const result: Swarm = { sent: [], deliveries: [], doubleHolds: [] }
  const holder = new Map<string, number>()
  const failures: unknown[] = []
  let consumerNo = 0
  for (const broker of brokers) {
    for (let s = 0; s < perInstance; s++) {
      const me = consumerNo++
      const handler = (delivery: Delivery) => {
        const id = delivery.envelope.id
        result.deliveries.push({ id, consumer: me })
        const other = holder.get(id)
        if (other !== undefined) result.doubleHolds.push(`${id} (consumers ${other} and ${me})`)
        holder.set(id, me)
        void sleep(Math.floor(Math.random() * holdMs)).then(async () => {
          if (holder.get(id) === me) holder.delete(id)
          await delivery.ack().catch((error: unknown) => failures.push(error))
        })
      }
      await broker.consume(queue, handler, { prefetch: 5 })
    }
  }
  const publisher = brokers[0]!
  const envelopes = Array.from({ length: messages }, (_, n) => h.envelope(queue, { payload: { n } }))
  await Promise.all(envelopes.map((e) => publisher.publish(e)))
  result.sent.push(...envelopes.map((e) => e.id))
  await eventually(
    async () => new Set(result.deliveries.map((d) => d.id)).size,
    (n) => n === messages,
    h.ms(TIMING.prompt * 6),
    `distinct messages processed of ${messages}`,
  )
  await eventually(
    () => publisher.stats(queue),
    (s) => s.ready === 0 && s.inFlight === 0,
    h.ms(TIMING.prompt),
    'stats after everything was acked',
  )
  if (failures.length > 0) throw new ConformanceFailure(`${failures.length} ack(s) failed: ${String(failures[0])}`)
  return result
}

export const concurrencyTests: BrokerTestTable<ConcurrencyTestId> = {
  'concurrency.all-processed': {
    title: 'competing consumers on two instances process every message exactly once when nothing fails',
    run: async (h) => {
      const { sent, deliveries } = await swarm(h, 200)
      expect(new Set(deliveries.map((d) => d.id))).toEqual(new Set(sent))
      expect(deliveries.length, 'deliveries (duplicates would exceed the messages sent)').toBe(sent.length)
      // Work was actually shared: every consumer got some.
      expect(new Set(deliveries.map((d) => d.consumer)).size).toBeGreaterThan(1)
    },
  },
  'concurrency.no-double-hold': {
    title: 'no message is ever held by two live consumers at once',
    run: async (h) => {
      const { doubleHolds } = await swarm(h, 100, 2, 3, 25)
      expect(doubleHolds).toEqual([])
    },
  },
  'concurrency.prefetch-respected': {
    title: 'a subscription never holds more unsettled deliveries than its prefetch, and fills up to it',
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      for (let n = 0; n < 10; n++) await broker.publish(h.envelope(queue, { payload: { n } }))
      const consumer = await h.consume(broker, queue, { prefetch: 3 })
      await consumer.take(3, h.ms(TIMING.prompt), 'deliveries up to the prefetch')
      await consumer.none(h.ms(TIMING.quiet), 'a delivery beyond prefetch 3')
      await broker.publish(h.envelope(queue))
      await consumer.none(h.ms(TIMING.quiet), 'a delivery beyond prefetch 3 after another publish')
      expect(consumer.received).toHaveLength(3)
    },
  },
  'concurrency.prefetch-refills': {
    title: 'each settlement frees one slot: a held-full subscription gets exactly one more per ack',
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      const sent = Array.from({ length: 8 }, (_, n) => h.envelope(queue, { payload: { n } }))
      for (const envelope of sent) await broker.publish(envelope)
      const consumer = await h.consume(broker, queue, { prefetch: 2 })
      const held = await consumer.take(2, h.ms(TIMING.prompt))
      for (let round = 0; round < 6; round++) {
        await held.shift()!.delivery.ack()
        held.push(await consumer.next(h.ms(TIMING.prompt), `the delivery freed by ack #${round + 1}`))
        expect(consumer.pending).toBe(0)
      }
      await consumer.none(h.ms(TIMING.quiet), 'a delivery beyond prefetch 2')
      for (const r of held) await r.delivery.ack()
      expect(new Set(consumer.received.map((r) => r.delivery.envelope.id))).toEqual(new Set(sent.map((e) => e.id)))
    },
  },
  'concurrency.prefetch-from-first': {
    title: 'the prefetch bound holds from the very first delivery, when a burst lands on an idle subscription',
    run: async (h) => {
      const queues = [h.queue('one'), h.queue('two')]
      const broker = await h.broker()
      const consumers = [
        await h.consume(broker, queues[0]!, { prefetch: 1 }),
        await h.consume(broker, queues[1]!, { prefetch: 2 }),
      ]
      // Idle subscriptions first, then a burst (one batch where the adapter has one): the first fetch or push must
      // already be bounded, not only the ones after the first settlement.
      const burst = queues.flatMap((queue) =>
        Array.from({ length: 8 }, (_, n) => h.envelope(queue, { payload: { n } })),
      )
      if (broker.publishMany) await broker.publishMany(burst)
      else await Promise.all(burst.map((e) => broker.publish(e)))
      await consumers[0]!.take(1, h.ms(TIMING.prompt))
      await consumers[1]!.take(2, h.ms(TIMING.prompt))
      await consumers[0]!.none(h.ms(TIMING.quiet), 'a delivery beyond prefetch 1')
      await consumers[1]!.none(0, 'a delivery beyond prefetch 2')
      await consumers[0]!.received[0]!.delivery.ack()
      const next = await consumers[0]!.next(h.ms(TIMING.prompt), 'the delivery freed by the ack')
      expect(next.delivery.envelope.queue).toBe(queues[0])
      await consumers[0]!.none(h.ms(TIMING.quiet), 'a second delivery for one ack at prefetch 1')
    },
  },
}
