import { expect } from 'vitest'
import type { BrokerTestTable } from '../define'
import { TIMING } from '../harness/harness'
import { eventually } from '../harness/wait'
import type { BatchTestId } from '../ids'

export const batchTests: BrokerTestTable<BatchTestId> = {
  'batch.publish-many-keeps-semantics': {
    title:
      'publishMany keeps what publish does for each message: delays, priorities, headers, queues, and resolves once held',
    run: async (h) => {
      const [queue, other] = [h.queue('a'), h.queue('b')]
      const broker = await h.broker()
      const caps = await h.capabilities()
      const delays = caps.delayedDelivery !== 'none'
      const delayed = h.envelope(queue, { priority: 9, notBefore: Date.now() + h.ms(TIMING.delay * 2) })
      const ready = [
        h.envelope(queue, { priority: 0, headers: { tenant: 'a', trace: 'ünï' } }),
        h.envelope(queue, { priority: 9, payload: { urgent: true } }),
        h.envelope(queue, { priority: 5, headers: { only: 'this one' } }),
      ]
      const elsewhere = h.envelope(other, { priority: 3, headers: { queue: 'other' } })
      const batch = [...(delays ? [delayed] : []), ...ready, elsewhere]
      // Core falls back to one publish each when an adapter has no publishMany: that path is held to the same rules.
      if (broker.publishMany) await broker.publishMany(batch)
      else for (const envelope of batch) await broker.publish(envelope)
      const inspector = await h.inspector()
      expect(await inspector.ready(queue), 'ready when publishMany resolved').toBe(3)
      expect(await inspector.ready(other), 'ready on the other queue when publishMany resolved').toBe(1)
      // Ready or delayed, all four are the queue's (an adapter that parks a delay in hops, like RabbitMQ's TTL
      // levels, may show it ready between two hops; never early is checked on delivery below).
      await eventually(
        () => broker.stats(queue),
        (s) => s.ready + s.delayed === (delays ? 4 : 3),
        h.ms(TIMING.prompt),
        'stats of the batch queue',
      )
      const consumer = await h.consume(broker, queue, { prefetch: 1, ack: true })
      const first = await consumer.take(3, h.ms(TIMING.prompt), 'the ready messages of the batch')
      const byId = new Map(ready.map((e) => [e.id, e]))
      for (const r of first) expect(r.delivery.envelope).toEqual(byId.get(r.delivery.envelope.id))
      if (caps.priorityLevels >= 10) expect(first.map((r) => r.delivery.envelope.priority)).toEqual([9, 5, 0])
      else if (caps.priorityLevels > 1) expect(first[0]!.delivery.envelope.priority).toBe(9)
      const peer = await h.consume(broker, other, { ack: true })
      expect((await peer.next(h.ms(TIMING.prompt), 'the other queue’s message')).delivery.envelope).toEqual(elsewhere)
      if (!delays) return
      const late = await consumer.next(h.ms(TIMING.delay * 2 + TIMING.window + TIMING.prompt), 'the delayed message')
      expect(late.delivery.envelope).toEqual(delayed)
      expect(late.at, 'the delayed message is not early').toBeGreaterThanOrEqual(delayed.notBefore!)
    },
  },
}
