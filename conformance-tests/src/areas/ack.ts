import { expect } from 'vitest'
import type { BrokerTestTable } from '../define'
import { TIMING } from '../harness/harness'
import { eventually, rejection } from '../harness/wait'
import type { AckTestId } from '../ids'

export const ackTests: BrokerTestTable<AckTestId> = {
  'ack.removes': {
    title: 'an acked message is gone for good: not ready, not in flight, never redelivered',
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      const sent = h.envelope(queue)
      await broker.publish(sent)
      const consumer = await h.consume(broker, queue)
      const { delivery } = await consumer.next(h.ms(TIMING.prompt))
      await delivery.ack()
      const inspector = await h.inspector()
      await eventually(
        () => inspector.ready(queue),
        (n) => n === 0,
        h.ms(TIMING.prompt),
        'ready count after ack',
      )
      await eventually(
        async () => (await broker.stats(queue)).inFlight,
        (n) => n === 0,
        h.ms(TIMING.prompt),
        'in-flight count after ack',
      )
      // Past a whole lease: an ack that only "forgot" the message locally would see it come back now.
      const peer = await h.consume(await h.broker(), queue)
      await consumer.none(h.ms(TIMING.lease + TIMING.quiet), 'redelivery of an acked message to its consumer')
      await peer.none(0, 'redelivery of an acked message to another instance')
    },
  },
  'ack.out-of-order': {
    title:
      'acking later deliveries while an earlier one is held settles only those: after a crash the held ones return',
    run: async (h) => {
      const queue = h.queue()
      const crashed = await h.broker()
      const sent = [1, 2, 3, 4, 5, 6].map((n) => h.envelope(queue, { payload: { n } }))
      for (const envelope of sent) await crashed.publish(envelope)
      const victim = await h.consume(crashed, queue, { prefetch: 6 })
      const got = await victim.take(6, h.ms(TIMING.prompt))
      // Hold the 3rd and 6th delivered; ack the others all at once, then one by one after, so an adapter that
      // batches acks (a range, an "up to" ack) meets both a settled run in front of a held delivery and a lone one.
      const held = new Set([got[2]!.delivery.envelope.id, got[5]!.delivery.envelope.id])
      const acked = got.filter((r) => !held.has(r.delivery.envelope.id))
      await Promise.all(acked.slice(0, 3).map((r) => r.delivery.ack()))
      await acked[3]!.delivery.ack()
      await crashed.destroy()
      const survivor = await h.consume(await h.broker(), queue)
      const back = await survivor.take(2, h.ms(TIMING.redelivery), 'the two held deliveries after the crash')
      expect(new Set(back.map((r) => r.delivery.envelope.id))).toEqual(held)
      for (const r of back) await r.delivery.ack()
      await survivor.none(h.ms(TIMING.quiet), 'a redelivery of an acked message')
    },
  },
  'ack.settle-twice-rejects': {
    title: 'settling a delivery a second time rejects with DeliverySettledError',
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      await broker.publish(h.envelope(queue))
      await broker.publish(h.envelope(queue))
      const consumer = await h.consume(broker, queue)
      const [first, second] = await consumer.take(2, h.ms(TIMING.prompt))
      await first!.delivery.ack()
      const again = await rejection(first!.delivery.ack(), 'a second ack')
      expect(again).toMatchObject({ code: 'CONVEYOR_DELIVERY_SETTLED' })
      await second!.delivery.deadLetter('conformance', { name: 'Error', message: 'settled once' })
      const retried = await rejection(second!.delivery.retry(0), 'a retry after dead-lettering')
      expect(retried).toMatchObject({ code: 'CONVEYOR_DELIVERY_SETTLED' })
      await consumer.none(h.ms(TIMING.quiet), 'a delivery after rejected settlements')
    },
  },
  'ack.release-redelivers': {
    title: 'a released delivery comes back at once, same envelope, same attempt',
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      const sent = h.envelope(queue, { attempt: 2 })
      await broker.publish(sent)
      const consumer = await h.consume(broker, queue)
      const { delivery } = await consumer.next(h.ms(TIMING.prompt))
      await delivery.release()
      // Well before any lease could expire: release is an explicit give-back, not a crash.
      const again = await consumer.next(h.ms(TIMING.prompt), 'the released message again')
      expect(again.delivery.envelope).toEqual(sent)
      await again.delivery.ack()
    },
  },
  'ack.release-not-counted': {
    title: 'a release does not count as a delivery (deliveryCount unchanged on the next delivery)',
    requires: (caps) => (caps.deliveryCount ? undefined : 'claims deliveryCount: false'),
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      await broker.publish(h.envelope(queue))
      const consumer = await h.consume(broker, queue)
      const { delivery } = await consumer.next(h.ms(TIMING.prompt))
      expect(delivery.deliveryCount).toBe(1)
      await delivery.release()
      const again = await consumer.next(h.ms(TIMING.prompt), 'the released message again')
      expect(again.delivery.deliveryCount).toBe(1)
      await again.delivery.ack()
    },
  },
}
