import { expect } from 'vitest'
import type { BrokerTestTable } from '../define'
import { TIMING } from '../harness/harness'
import { eventually, rejection } from '../harness/wait'
import type { CrashTestId } from '../ids'
import { poisonDeadLettered } from './app-scenarios'
import { longTaskRunsOnce } from './long-task'

const needsDeliveryCount = (caps: { deliveryCount: boolean }) =>
  caps.deliveryCount ? undefined : 'claims deliveryCount: false, so delivery counts are not tested'

export const crashTests: BrokerTestTable<CrashTestId> = {
  'crash.redelivered-after-destroy': {
    title: 'deliveries held by a crashed broker (destroy) come back to a live consumer, envelope intact',
    run: async (h) => {
      const queue = h.queue()
      const crashed = await h.broker()
      const victim = await h.consume(crashed, queue)
      const sent = [h.envelope(queue, { payload: { n: 1 } }), h.envelope(queue, { payload: { n: 2 } })]
      for (const envelope of sent) await crashed.publish(envelope)
      await victim.take(2, h.ms(TIMING.prompt))
      const survivor = await h.consume(await h.broker(), queue)
      await crashed.destroy()
      const back = await survivor.take(2, h.ms(TIMING.redelivery), 'redeliveries after the crash')
      const byId = new Map(back.map((r) => [r.delivery.envelope.id, r.delivery.envelope]))
      for (const envelope of sent) expect(byId.get(envelope.id)).toEqual(envelope)
      for (const r of back) await r.delivery.ack()
      const inspector = await h.inspector()
      await eventually(
        () => inspector.ready(queue),
        (n) => n === 0,
        h.ms(TIMING.prompt),
        'ready count after acks',
      )
    },
  },
  'crash.delivery-count-increments': {
    title: 'a redelivery after a crash carries deliveryCount + 1',
    requires: needsDeliveryCount,
    run: async (h) => {
      const queue = h.queue()
      const crashed = await h.broker()
      const victim = await h.consume(crashed, queue)
      await crashed.publish(h.envelope(queue))
      const first = await victim.next(h.ms(TIMING.prompt))
      expect(first.delivery.deliveryCount).toBe(1)
      const survivor = await h.consume(await h.broker(), queue)
      await crashed.destroy()
      const second = await survivor.next(h.ms(TIMING.redelivery), 'the redelivery')
      expect(second.delivery.deliveryCount).toBe(2)
      expect(second.delivery.envelope.attempt).toBe(first.delivery.envelope.attempt)
      await second.delivery.ack()
    },
  },
  'crash.delivery-count-survives-restart': {
    title: 'the delivery count is kept by the store: each restarted instance sees 1, 2, 3',
    requires: needsDeliveryCount,
    timeoutMs: 25_000,
    run: async (h) => {
      const queue = h.queue()
      const producer = await h.broker()
      await producer.publish(h.envelope(queue))
      await producer.close()
      for (let expected = 1; expected <= 3; expected++) {
        // A brand-new instance each time, created after the previous one crashed: nothing in process memory.
        const instance = await h.broker()
        const consumer = await h.consume(instance, queue)
        const { delivery } = await consumer.next(h.ms(TIMING.redelivery), `delivery #${expected}`)
        expect(delivery.deliveryCount).toBe(expected)
        if (expected === 3) await delivery.ack()
        await instance.destroy()
      }
    },
  },
  'crash.held-while-alive': {
    title: 'a live consumer keeps its deliveries past the lease (extended), and they still come back once it crashes',
    requires: (caps) =>
      caps.leaseExtension
        ? undefined
        : 'claims leaseExtension: false, so handlers longer than the lease are redelivered',
    run: async (h) => {
      const queue = h.queue()
      const holder = await h.broker()
      const consumer = await h.consume(holder, queue)
      const [kept, dropped] = [h.envelope(queue, { payload: { n: 1 } }), h.envelope(queue, { payload: { n: 2 } })]
      await holder.publish(kept!)
      await holder.publish(dropped!)
      const held = await consumer.take(2, h.ms(TIMING.prompt))
      const peer = await h.consume(await h.broker(), queue)
      await peer.none(h.ms(TIMING.lease * 2.5), 'a second delivery of a message whose consumer is alive')
      await consumer.none(0, 'a duplicate to the holder')
      // The extended lease is still the holder's: its ack lands.
      await held.find((r) => r.delivery.envelope.id === kept!.id)!.delivery.ack()
      // Extension must stop with the process: an extended lease still expires after a crash.
      await holder.destroy()
      const back = await peer.next(h.ms(TIMING.redelivery), 'the extended delivery after its holder crashed')
      expect(back.delivery.envelope).toEqual(dropped)
      await back.delivery.ack()
      await peer.none(h.ms(TIMING.quiet), 'a redelivery of the acked message')
    },
  },
  'crash.settle-after-destroy-rejects': {
    title: 'a destroyed broker settles nothing: ack rejects and the message comes back',
    run: async (h) => {
      const queue = h.queue()
      const crashed = await h.broker()
      const victim = await h.consume(crashed, queue)
      const sent = h.envelope(queue)
      await crashed.publish(sent)
      const { delivery } = await victim.next(h.ms(TIMING.prompt))
      await crashed.destroy()
      await rejection(delivery.ack(), 'ack after destroy')
      const survivor = await h.consume(await h.broker(), queue)
      const back = await survivor.next(h.ms(TIMING.redelivery), 'the message after a rejected ack')
      expect(back.delivery.envelope).toEqual(sent)
      await back.delivery.ack()
    },
  },
  'crash.poison-dead-lettered': {
    title: "a message that kills its worker every time is dead-lettered after the app's maxDeliveries",
    requires: needsDeliveryCount,
    timeoutMs: 30_000,
    run: poisonDeadLettered,
  },
  'crash.delivery-limit': {
    title:
      'a claimed deliveryLimit is enforced by the broker: after that many deliveries that all crashed, dead-lettered',
    requires: (caps) =>
      caps.deliveryLimit === undefined
        ? 'claims no deliveryLimit (only the app enforces maxDeliveries)'
        : caps.deliveryLimit > 5
          ? `claims deliveryLimit ${caps.deliveryLimit}; the test crashes at most 5 consumers (configure a lower one)`
          : undefined,
    timeoutMs: 30_000,
    run: async (h) => {
      const queue = h.queue()
      const limit = (await h.capabilities()).deliveryLimit!
      const producer = await h.broker()
      const sent = h.envelope(queue)
      await producer.publish(sent)
      // Every consumer that gets it dies holding it: no app, no worker policy, only the broker can end this.
      for (let n = 1; n <= limit; n++) {
        const instance = await h.broker()
        const consumer = await h.consume(instance, queue, { prefetch: 1 })
        const { delivery } = await consumer.next(h.ms(TIMING.redelivery), `delivery #${n} of ${limit}`)
        expect(delivery.deliveryCount).toBe(n)
        await instance.destroy()
      }
      const last = await h.consume(await h.broker(), queue)
      const inspector = await h.inspector()
      const [dead] = await eventually(
        () => inspector.deadLetters(queue),
        (entries) => entries.length === 1,
        h.ms(TIMING.redelivery + TIMING.prompt),
        'the message dead-lettered by the broker',
      )
      expect(dead).toMatchObject({ id: sent.id, reason: 'max-deliveries' })
      await last.none(h.ms(TIMING.quiet), `a delivery beyond deliveryLimit ${limit}`)
    },
  },
  'crash.long-task-runs-once': {
    title: 'an app task running four lease periods, a second worker waiting, runs once and is acked',
    requires: (caps) =>
      caps.leaseExtension ? undefined : 'claims leaseExtension: false, so tasks longer than the lease are redelivered',
    run: longTaskRunsOnce,
  },
}
