import { toErrorInfo } from '@conveyor/core/adapter'
import { expect } from 'vitest'
import type { BrokerTestTable } from '../define'
import { TIMING } from '../harness/harness'
import type { SettleTestId } from '../ids'

// When a promise settles the broker must already hold the write: these tests read the store (the raw inspector)
// or crash the instance (destroy) the moment the promise resolved. An adapter that resolves first and writes later
// (a queued ack, a publish waiting for its batch) fails here even though it "eventually" gets everything right.

export const settleTests: BrokerTestTable<SettleTestId> = {
  'settle.publish-held': {
    title: 'when publish (and publishMany) resolves the store holds the message: counted at once, kept by a crash',
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      const inspector = await h.inspector()
      const sent = [h.envelope(queue, { payload: { n: 0 } })]
      await broker.publish(sent[0]!)
      expect(await inspector.ready(queue), 'ready in the store the moment publish resolved').toBe(1)
      const batch = [1, 2, 3].map((n) => h.envelope(queue, { payload: { n } }))
      sent.push(...batch)
      if (broker.publishMany) await broker.publishMany(batch)
      else for (const envelope of batch) await broker.publish(envelope)
      expect(await inspector.ready(queue), 'ready in the store the moment publishMany resolved').toBe(4)
      // Crash in the very tick the last publish resolved: nothing may still wait in the instance.
      const last = h.envelope(queue, { payload: { n: 4 } })
      sent.push(last)
      await broker.publish(last)
      await broker.destroy()
      const survivor = await h.consume(await h.broker(), queue, { ack: true })
      const got = await survivor.take(sent.length, h.ms(TIMING.prompt), 'every published message after the crash')
      expect(new Set(got.map((r) => r.delivery.envelope.id))).toEqual(new Set(sent.map((e) => e.id)))
    },
  },
  'settle.settlements-held': {
    title:
      'when ack, retry, deadLetter and release resolve the store holds the outcome: a crash right then changes nothing',
    run: async (h) => {
      const queue = h.queue()
      const crashed = await h.broker()
      const [acked, retried, dead, released] = [1, 2, 3, 4].map((n) => h.envelope(queue, { payload: { n } }))
      for (const envelope of [acked!, retried!, dead!, released!]) await crashed.publish(envelope)
      const consumer = await h.consume(crashed, queue, { prefetch: 4 })
      const got = await consumer.take(4, h.ms(TIMING.prompt))
      // Cancelled first, so what retry and release give back is not handed to this consumer again.
      await consumer.subscription?.cancel()
      const of = (id: string) => got.find((r) => r.delivery.envelope.id === id)!.delivery
      await Promise.all([
        of(retried!.id).retry(0),
        of(dead!.id).deadLetter('conformance', toErrorInfo(new Error('settled before the crash'))),
        of(released!.id).release(),
      ])
      // The ack alone and last, the crash in the tick it resolved: an ack queued for a later flush would be lost.
      await of(acked!.id).ack()
      await crashed.destroy()
      const inspector = await h.inspector()
      const stored = await inspector.deadLetters(queue)
      expect(
        stored.map((d) => d.id),
        'the dead letter is in the store the moment deadLetter resolved',
      ).toEqual([dead!.id])
      const survivor = await h.consume(await h.broker(), queue)
      const back = await survivor.take(2, h.ms(TIMING.prompt), 'the retried and the released message')
      const byId = new Map(back.map((r) => [r.delivery.envelope.id, r.delivery]))
      expect([...byId.keys()].sort()).toEqual([retried!.id, released!.id].sort())
      expect(byId.get(retried!.id)!.envelope.attempt, 'the retried message is the next attempt').toBe(2)
      expect(byId.get(released!.id)!.envelope).toEqual(released)
      if ((await h.capabilities()).deliveryCount) {
        expect(byId.get(retried!.id)!.deliveryCount, 'a retry starts counting again').toBe(1)
        expect(byId.get(released!.id)!.deliveryCount, 'a release is not counted').toBe(1)
      }
      for (const r of back) await r.delivery.ack()
      // Past a lease: an ack or dead-letter that had not reached the store would bring its message back now.
      await survivor.none(h.ms(TIMING.lease * 1.5 + TIMING.quiet), 'a message whose settlement had resolved')
      expect((await inspector.deadLetters(queue)).map((d) => d.id)).toEqual([dead!.id])
    },
  },
}
