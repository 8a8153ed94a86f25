import {
  type Broker,
  type BrokerCapabilities,
  type DeadLetter,
  type Envelope,
  toErrorInfo,
} from '@conveyor/core/adapter'
import { expect } from 'vitest'
import type { BrokerTestTable } from '../define'
import type { Harness } from '../harness/harness'
import { TIMING } from '../harness/harness'
import { eventually } from '../harness/wait'
import type { DeadLetterTestId } from '../ids'
import { exhaustedRetries, needsDeadLetterView, unrecoverable } from './app-scenarios'

const needsManagement = (caps: BrokerCapabilities) =>
  caps.deadLetterManagement ? undefined : 'claims deadLetterManagement: false, so list/replay/purge are not tested'

/** Publish `envelopes`, receive each and dead-letter it with `reason`, in order. */
async function deadLetterAll(h: Harness, broker: Broker, queue: string, envelopes: Envelope[], reason = 'conformance') {
  for (const envelope of envelopes) await broker.publish(envelope)
  const consumer = await h.consume(broker, queue, { prefetch: 1 })
  for (const envelope of envelopes) {
    const { delivery } = await consumer.next(h.ms(TIMING.prompt))
    expect(delivery.envelope.id).toBe(envelope.id)
    await delivery.deadLetter(reason, toErrorInfo(new Error(`dead: ${envelope.id}`)))
  }
  await consumer.subscription?.cancel()
}

async function deadLetters(h: Harness, queue: string, count: number): Promise<DeadLetter[]> {
  const inspector = await h.inspector()
  return eventually(
    () => inspector.deadLetters(queue),
    (dead) => dead.length === count,
    h.ms(TIMING.prompt),
    `exactly ${count} dead letter(s) on ${queue}`,
  )
}

/** Three envelopes dead-lettered in order on a fresh queue, with the broker that did it. */
async function threeDead(h: Harness) {
  const queue = h.queue()
  const broker = await h.broker()
  const envelopes = [1, 2, 3].map((n) => h.envelope(queue, { payload: { n } }))
  await deadLetterAll(h, broker, queue, envelopes)
  return { queue, broker, envelopes, ids: envelopes.map((e) => e.id) }
}

export const deadLetterTests: BrokerTestTable<DeadLetterTestId> = {
  'dead-letter.holds-envelope': {
    title: 'deadLetter stores the original envelope, reason, error message and stack, attempts, counts, timestamps',
    requires: needsDeadLetterView,
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      const sent = h.envelope(queue, { attempt: 2, maxAttempts: 4, createdAt: Date.now() - 5000, payload: { a: [1] } })
      await broker.publish(sent)
      const consumer = await h.consume(broker, queue)
      const { delivery } = await consumer.next(h.ms(TIMING.prompt))
      const error = toErrorInfo(new TypeError('the handler broke'))
      const before = Date.now()
      await delivery.deadLetter('unrecoverable', error)
      const after = Date.now()
      const [entry] = await deadLetters(h, queue, 1)
      expect(entry).toMatchObject({ id: sent.id, queue, reason: 'unrecoverable', attempts: 2 })
      expect(entry!.envelope).toEqual(sent)
      expect(entry!.error).toMatchObject({ name: 'TypeError', message: 'the handler broke', stack: error.stack })
      expect(entry!.createdAt).toBe(sent.createdAt)
      expect(entry!.deadAt).toBeGreaterThanOrEqual(before)
      expect(entry!.deadAt).toBeLessThanOrEqual(after + 1000)
      expect(entry!.deliveryCount).toBeGreaterThanOrEqual(1)
      if ((await h.capabilities()).deliveryCount) expect(entry!.deliveryCount).toBe(1)
      // Nothing left on the live queue, and it never comes back.
      const inspector = await h.inspector()
      await eventually(
        () => inspector.ready(queue),
        (n) => n === 0,
        h.ms(TIMING.prompt),
        'ready after dead-letter',
      )
      const stats = await eventually(
        () => broker.stats(queue),
        (s) => s.inFlight === 0 && s.dead === 1,
        h.ms(TIMING.prompt),
        'stats after dead-letter',
      )
      expect(stats).toMatchObject({ ready: 0, inFlight: 0, delayed: 0, dead: 1 })
      await consumer.none(h.ms(TIMING.quiet), 'a delivery of a dead-lettered message')
    },
  },
  'dead-letter.oldest-first': {
    title: 'dead letters are kept in the order they died, each with its own reason',
    requires: needsDeadLetterView,
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      const envelopes = [1, 2, 3].map((n) => h.envelope(queue, { payload: { n } }))
      const reasons = ['max-attempts', 'max-deliveries', 'a-custom-reason']
      for (const envelope of envelopes) await broker.publish(envelope)
      const consumer = await h.consume(broker, queue, { prefetch: 1 })
      for (const reason of reasons) {
        const { delivery } = await consumer.next(h.ms(TIMING.prompt))
        await delivery.deadLetter(reason, { name: 'Error', message: reason })
      }
      const dead = await deadLetters(h, queue, 3)
      expect(dead.map((d) => [d.id, d.reason, d.error?.message])).toEqual(
        envelopes.map((e, i) => [e.id, reasons[i], reasons[i]]),
      )
    },
  },
  'dead-letter.one-per-run': {
    title:
      'a run dead-lettered twice (its worker died between the dead letter and the ack, and the redelivery was ' +
      'dead-lettered again) is listed once and replayed once',
    requires: needsManagement,
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      const sent = h.envelope(queue, { payload: { once: true } })
      // The same run twice: what a redelivery after the crash looks like to the store.
      await deadLetterAll(h, broker, queue, [sent])
      await deadLetterAll(h, broker, queue, [sent])
      const other = h.envelope(queue, { payload: { other: true } })
      await deadLetterAll(h, broker, queue, [other])
      expect((await broker.deadLetters.list(queue)).map((d) => d.id)).toEqual([sent.id, other.id])
      expect(await broker.deadLetters.replay(queue, { ids: [sent.id] })).toBe(1)
      const consumer = await h.consume(broker, queue, { prefetch: 5 })
      const { delivery } = await consumer.next(h.ms(TIMING.prompt), 'the replayed run')
      expect(delivery.envelope.id).toBe(sent.id)
      await delivery.ack()
      await consumer.none(h.ms(TIMING.quiet), 'a second copy of the replayed run')
      expect((await broker.deadLetters.list(queue)).map((d) => d.id)).toEqual([other.id])
    },
  },
  'dead-letter.same-id-runs': {
    title:
      'two runs enqueued with the same id that both die are two dead letters; replay and purge by that id take both',
    requires: needsManagement,
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      // Separate runs (different enqueue times) under one caller-chosen id, and one other dead letter.
      const first = h.envelope(queue, { createdAt: Date.now() - 2000, payload: { run: 1 } })
      const runs = [first, { ...first, createdAt: Date.now() - 1000, payload: { run: 2 } }]
      const other = h.envelope(queue, { payload: { other: true } })
      await deadLetterAll(h, broker, queue, [...runs, other])
      expect((await broker.deadLetters.list(queue)).map((d) => d.id)).toEqual([first.id, first.id, other.id])
      expect(await broker.deadLetters.replay(queue, { ids: [first.id] })).toBe(2)
      expect((await broker.deadLetters.list(queue)).map((d) => d.id)).toEqual([other.id])
      const consumer = await h.consume(broker, queue, { prefetch: 5 })
      const back = await consumer.take(2, h.ms(TIMING.prompt), 'both replayed runs')
      expect(back.map((r) => r.delivery.envelope.payload)).toEqual(runs.map((r) => r.payload))
      // Both die again: purge by the id removes both and leaves the other.
      for (const r of back) await r.delivery.deadLetter('conformance', toErrorInfo(new Error('again')))
      await deadLetters(h, queue, 3)
      expect(await broker.deadLetters.purge(queue, [first.id])).toBe(2)
      expect((await broker.deadLetters.list(queue)).map((d) => d.id)).toEqual([other.id])
      await consumer.subscription?.cancel()
    },
  },
  'dead-letter.survives-restart': {
    title: 'dead letters are held by the store: a new broker instance sees them after a crash',
    requires: (caps, h) => needsDeadLetterView(caps, h) ?? needsManagement(caps),
    run: async (h) => {
      const { queue, broker, ids } = await threeDead(h)
      await broker.destroy()
      const restarted = await h.broker()
      const listed = await restarted.deadLetters.list(queue)
      expect(listed.map((d) => d.id)).toEqual(ids)
      expect(await restarted.deadLetters.count(queue)).toBe(3)
    },
  },
  'dead-letter.list-paging': {
    title: 'list pages oldest first with offset and limit; count agrees',
    requires: needsManagement,
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      const envelopes = [1, 2, 3, 4, 5].map((n) => h.envelope(queue, { payload: { n } }))
      await deadLetterAll(h, broker, queue, envelopes)
      const ids = envelopes.map((e) => e.id)
      expect((await broker.deadLetters.list(queue)).map((d) => d.id)).toEqual(ids)
      expect((await broker.deadLetters.list(queue, { offset: 1, limit: 2 })).map((d) => d.id)).toEqual(ids.slice(1, 3))
      expect((await broker.deadLetters.list(queue, { offset: 4, limit: 10 })).map((d) => d.id)).toEqual(ids.slice(4))
      expect(await broker.deadLetters.list(queue, { offset: 5 })).toEqual([])
      expect(await broker.deadLetters.count(queue)).toBe(5)
    },
  },
  'dead-letter.replay': {
    title: 'replay puts the message back on the live queue with attempt reset to 1 and no delay',
    requires: needsManagement,
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      const sent = h.envelope(queue, { attempt: 3, maxAttempts: 3, payload: { replay: 'me' } })
      await deadLetterAll(h, broker, queue, [sent])
      expect(await broker.deadLetters.replay(queue)).toBe(1)
      expect(await broker.deadLetters.count(queue)).toBe(0)
      const consumer = await h.consume(broker, queue)
      const { delivery } = await consumer.next(h.ms(TIMING.prompt), 'the replayed message')
      const { notBefore, ...rest } = delivery.envelope
      expect(rest).toEqual({ ...sent, attempt: 1 })
      expect(notBefore === undefined || notBefore <= Date.now()).toBe(true)
      await delivery.ack()
      const inspector = await h.inspector()
      expect(await inspector.deadLetters(queue)).toEqual([])
    },
  },
  'dead-letter.replay-renews-expiry': {
    title: 'a replayed message that had an expiry gets as long to live again as when it was enqueued',
    requires: needsManagement,
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      // Enqueued 10 s ago with 5 s to live: expired before the replay, as after an outage fixed a while later.
      const createdAt = Date.now() - 10_000
      const sent = h.envelope(queue, { createdAt, expiresAt: createdAt + 5_000, payload: { late: true } })
      await deadLetterAll(h, broker, queue, [sent])
      const replayedAt = Date.now()
      expect(await broker.deadLetters.replay(queue)).toBe(1)
      const consumer = await h.consume(broker, queue)
      const { delivery } = await consumer.next(h.ms(TIMING.prompt), 'the replayed message')
      // Kept as it was, the worker recorded the replayed run `expired` without running it.
      expect(delivery.envelope.expiresAt).toBeGreaterThanOrEqual(replayedAt + 5_000)
      expect(delivery.envelope.expiresAt).toBeLessThanOrEqual(Date.now() + 5_000)
      expect(delivery.envelope.attempt).toBe(1)
      await delivery.ack()
    },
  },
  'dead-letter.replay-selection': {
    title: 'replay honours ids and limit (oldest first) and leaves the rest in the store',
    requires: needsManagement,
    run: async (h) => {
      const { queue, broker, ids } = await threeDead(h)
      expect(await broker.deadLetters.replay(queue, { ids: [ids[2]!] })).toBe(1)
      expect((await broker.deadLetters.list(queue)).map((d) => d.id)).toEqual(ids.slice(0, 2))
      expect(await broker.deadLetters.replay(queue, { limit: 1 })).toBe(1)
      expect((await broker.deadLetters.list(queue)).map((d) => d.id)).toEqual([ids[1]])
      const consumer = await h.consume(broker, queue, { ack: true })
      const back = await consumer.take(2, h.ms(TIMING.prompt), 'replayed messages')
      expect(back.map((r) => r.delivery.envelope.id).sort()).toEqual([ids[0], ids[2]].sort())
      await consumer.none(h.ms(TIMING.quiet), 'a message that was not replayed')
    },
  },
  'dead-letter.purge': {
    title: 'purge removes the given ids, then all; nothing is put back on the live queue',
    requires: needsManagement,
    run: async (h) => {
      const { queue, broker, ids } = await threeDead(h)
      expect(await broker.deadLetters.purge(queue, [ids[1]!])).toBe(1)
      expect((await broker.deadLetters.list(queue)).map((d) => d.id)).toEqual([ids[0], ids[2]])
      expect(await broker.deadLetters.purge(queue)).toBe(2)
      expect(await broker.deadLetters.count(queue)).toBe(0)
      const inspector = await h.inspector()
      expect(await inspector.deadLetters(queue)).toEqual([])
      expect(await inspector.ready(queue)).toBe(0)
    },
  },
  'dead-letter.exhausted-retries': {
    title: "core's policy on this broker: exhausted retries dead-letter with the last error, nothing left live",
    requires: needsDeadLetterView,
    timeoutMs: 20_000,
    run: exhaustedRetries,
  },
  'dead-letter.unrecoverable': {
    title: "core's policy on this broker: UnrecoverableError dead-letters at once, without retries",
    requires: needsDeadLetterView,
    run: unrecoverable,
  },
}
