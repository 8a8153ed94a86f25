import type { Delivery } from '@conveyor/core/adapter'
import { expect } from 'vitest'
import type { BrokerTestTable } from '../define'
import { TIMING } from '../harness/harness'
import { eventually, rejection, sleep } from '../harness/wait'
import type { LifecycleTestId } from '../ids'

const expectNotConnected = (error: unknown) => {
  expect(error).toMatchObject({ code: 'CONVEYOR_NOT_CONNECTED' })
  expect((error as Error).message).toMatch(/^\[conveyor\]/)
}

export const lifecycleTests: BrokerTestTable<LifecycleTestId> = {
  'lifecycle.close-waits-for-inflight': {
    title: 'close({ timeoutMs }) waits for in-flight deliveries to be settled, and their acks land',
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      for (let n = 0; n < 3; n++) await broker.publish(h.envelope(queue, { payload: { n } }))
      const consumer = await h.consume(broker, queue)
      const held = await consumer.take(3, h.ms(TIMING.prompt))
      const closing = broker.close({ timeoutMs: h.ms(TIMING.redelivery) }).then(() => Date.now())
      await sleep(h.ms(TIMING.quiet))
      let lastAck = 0
      for (const r of held) {
        await r.delivery.ack()
        lastAck = Date.now()
      }
      const closedAt = await closing
      expect(closedAt).toBeGreaterThanOrEqual(lastAck)
      const after = await h.consume(await h.broker(), queue)
      await after.none(h.ms(TIMING.lease + TIMING.quiet), 'a redelivery of a message acked during close')
      expect(await (await h.inspector()).ready(queue)).toBe(0)
    },
  },
  'lifecycle.close-returns-unsettled': {
    title: 'close gives deliveries still unsettled at its timeout back to the queue',
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      const sent = [1, 2, 3].map((n) => h.envelope(queue, { payload: { n } }))
      for (const envelope of sent) await broker.publish(envelope)
      const consumer = await h.consume(broker, queue)
      await consumer.take(3, h.ms(TIMING.prompt))
      await broker.close({ timeoutMs: h.ms(50) })
      const after = await h.consume(await h.broker(), queue, { ack: true })
      const back = await after.take(3, h.ms(TIMING.redelivery), 'messages returned by close')
      expect(back.map((r) => r.delivery.envelope).sort((a, b) => a.id.localeCompare(b.id))).toEqual(
        [...sent].sort((a, b) => a.id.localeCompare(b.id)),
      )
    },
  },
  'lifecycle.close-loses-nothing': {
    title: 'closing mid-stream loses nothing: every message is acked by this or the next instance',
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      const sent = Array.from({ length: 30 }, (_, n) => h.envelope(queue, { payload: { n } }))
      for (const envelope of sent) await broker.publish(envelope)
      const acked = new Set<string>()
      // An ack racing the close may be refused (the message went back): it is then acked by the next instance.
      const ack = (delivery: Delivery) =>
        delivery.ack().then(
          () => acked.add(delivery.envelope.id),
          () => {},
        )
      let seen = 0
      // Ack every other delivery as it comes, hold the rest: close finds some settled, some not.
      await broker.consume(
        queue,
        (delivery) => {
          seen++
          if (seen % 2 === 0) void ack(delivery)
        },
        { prefetch: 6 },
      )
      await eventually(
        async () => seen,
        (n) => n >= 6,
        h.ms(TIMING.prompt),
        'first deliveries',
      )
      await broker.close({ timeoutMs: h.ms(50) })
      const next = await h.broker()
      await next.consume(queue, (delivery) => void ack(delivery), {
        prefetch: 10,
      })
      await eventually(
        async () => acked.size,
        (n) => n === sent.length,
        h.ms(TIMING.redelivery + TIMING.prompt),
        `messages acked of ${sent.length}`,
      )
      expect(acked).toEqual(new Set(sent.map((e) => e.id)))
    },
  },
  'lifecycle.publish-after-close-rejects': {
    title: 'publish after close rejects with NotConnectedError ([conveyor] …, CONVEYOR_NOT_CONNECTED)',
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      await broker.close()
      expectNotConnected(await rejection(broker.publish(h.envelope(queue)), 'publish after close'))
      expectNotConnected(await rejection(broker.publishRaw(queue, '{}'), 'publishRaw after close'))
    },
  },
  'lifecycle.consume-after-close-rejects': {
    title: 'consume after close rejects with NotConnectedError',
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      await broker.close()
      expectNotConnected(
        await rejection(
          broker.consume(queue, () => {}, { prefetch: 1 }),
          'consume after close',
        ),
      )
    },
  },
  'lifecycle.close-idempotent': {
    title: 'close twice resolves, destroy after close resolves',
    run: async (h) => {
      const broker = await h.broker()
      await broker.close()
      await broker.close({ timeoutMs: 10 })
      await broker.destroy()
    },
  },
  'lifecycle.cancel-stops-deliveries': {
    title: 'a cancelled subscription gets nothing new; what it holds can still be acked',
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      await broker.publish(h.envelope(queue))
      const consumer = await h.consume(broker, queue)
      const { delivery } = await consumer.next(h.ms(TIMING.prompt))
      await consumer.subscription!.cancel()
      const later = h.envelope(queue)
      await broker.publish(later)
      await consumer.none(h.ms(TIMING.quiet), 'a delivery to a cancelled subscription')
      await delivery.ack()
      const other = await h.consume(broker, queue, { ack: true })
      const got = await other.next(h.ms(TIMING.prompt), 'the message published after cancel')
      expect(got.delivery.envelope.id).toBe(later.id)
      await other.none(h.ms(TIMING.quiet), 'a redelivery of the message acked after cancel')
    },
  },
  'lifecycle.declare-idempotent': {
    title: 'declaring a queue again (same or another instance) keeps its messages',
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      await broker.publish(h.envelope(queue))
      await broker.declare({ name: queue })
      await (await h.broker()).declare({ name: queue })
      const stats = await eventually(
        () => broker.stats(queue),
        (s) => s.ready === 1,
        h.ms(TIMING.prompt),
        'ready',
      )
      expect(stats.ready).toBe(1)
    },
  },
  'lifecycle.purge': {
    title: 'purge removes ready messages and returns the count; in-flight ones stay held',
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      await broker.publish(h.envelope(queue))
      const consumer = await h.consume(broker, queue, { prefetch: 1 })
      const { delivery } = await consumer.next(h.ms(TIMING.prompt))
      for (let n = 0; n < 3; n++) await broker.publish(h.envelope(queue, { payload: { n } }))
      await eventually(
        () => broker.stats(queue),
        (s) => s.ready === 3,
        h.ms(TIMING.prompt),
        'ready before purge',
      )
      expect(await broker.purge(queue)).toBe(3)
      expect(await (await h.inspector()).ready(queue)).toBe(0)
      expect(await broker.stats(queue)).toMatchObject({ ready: 0, inFlight: 1 })
      await delivery.ack()
      await consumer.none(h.ms(TIMING.quiet), 'a purged message')
    },
  },
  'lifecycle.stats': {
    title: 'stats report ready, in-flight and dead counts read from the store',
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      for (let n = 0; n < 4; n++) await broker.publish(h.envelope(queue, { payload: { n } }))
      await eventually(
        () => broker.stats(queue),
        (s) => s.ready === 4,
        h.ms(TIMING.prompt),
        'ready 4',
      )
      const consumer = await h.consume(broker, queue, { prefetch: 2 })
      const [a] = await consumer.take(2, h.ms(TIMING.prompt))
      await a!.delivery.deadLetter('conformance', { name: 'Error', message: 'for the stats' })
      await consumer.next(h.ms(TIMING.prompt))
      const stats = await eventually(
        () => broker.stats(queue),
        (s) => s.ready === 1 && s.inFlight === 2 && s.dead === 1,
        h.ms(TIMING.prompt),
        'stats { ready: 1, inFlight: 2, dead: 1 }',
      )
      expect(stats).toMatchObject({ ready: 1, inFlight: 2, delayed: 0, dead: 1 })
    },
  },
  'lifecycle.stats-per-queue': {
    title: 'stats are exact and per queue: each count of one queue, untouched by its neighbours',
    run: async (h) => {
      const [busy, quiet, empty] = [h.queue('busy'), h.queue('quiet'), h.queue('empty')]
      const broker = await h.broker()
      const delays = (await h.capabilities()).delayedDelivery !== 'none'
      for (let n = 0; n < 5; n++) await broker.publish(h.envelope(busy, { payload: { n } }))
      if (delays) await broker.publish(h.envelope(busy, { notBefore: Date.now() + h.ms(TIMING.redelivery * 3) }))
      await broker.publish(h.envelope(quiet))
      const consumer = await h.consume(broker, busy, { prefetch: 2 })
      const [first] = await consumer.take(2, h.ms(TIMING.prompt))
      await first!.delivery.deadLetter('conformance', { name: 'Error', message: 'for the stats' })
      await consumer.next(h.ms(TIMING.prompt), 'the delivery that refilled the slot')
      const expected = {
        [busy]: { ready: 2, inFlight: 2, delayed: delays ? 1 : 0, dead: 1 },
        [quiet]: { ready: 1, inFlight: 0, delayed: 0, dead: 0 },
        [empty]: { ready: 0, inFlight: 0, delayed: 0, dead: 0 },
      }
      for (const [queue, counts] of Object.entries(expected)) {
        const seen = await eventually(
          () => broker.stats(queue),
          (s) => JSON.stringify(s) === JSON.stringify({ ...s, ...counts }),
          h.ms(TIMING.prompt),
          `stats of ${queue}`,
        )
        expect(seen, queue).toMatchObject(counts)
      }
    },
  },
  'lifecycle.stats-oldest-ready': {
    title:
      'stats.oldestReadyAt, when reported, is when the oldest ready message became ready (notBefore, else createdAt); absent when nothing is ready',
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      await broker.declare({ name: queue })
      expect((await broker.stats(queue)).oldestReadyAt).toBeUndefined()
      const now = Date.now()
      // Out of order and across priorities: the oldest is neither the first published nor the highest priority.
      await broker.publish(h.envelope(queue, { createdAt: now - 2000, priority: 9 }))
      await broker.publish(h.envelope(queue, { createdAt: now - 5000, priority: 0 }))
      await broker.publish(h.envelope(queue, { createdAt: now - 1000, priority: 5 }))
      const stats = await broker.stats(queue)
      expect(stats.ready).toBe(3)
      // Optional in the contract: a broker that cannot tell leaves it out (the RabbitMQ adapter without peeking).
      if (stats.oldestReadyAt === undefined) return
      expect(stats.oldestReadyAt).toBe(now - 5000)
      await broker.purge(queue)
      expect((await broker.stats(queue)).oldestReadyAt).toBeUndefined()
    },
  },
}
