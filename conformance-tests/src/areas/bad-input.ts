import type { DeadLetter } from '@conveyor/core/adapter'
import { expect } from 'vitest'
import type { BrokerTestTable } from '../define'
import type { Harness } from '../harness/harness'
import { TIMING } from '../harness/harness'
import { eventually } from '../harness/wait'
import type { BadInputTestId } from '../ids'
import { needsDeadLetterView, unknownTask } from './app-scenarios'
import { poisonFreesSlots } from './poison'

/** Put `body` on a consumed queue; resolve with its dead letter and the consumer (which must not have seen it). */
async function rawToDeadLetter(h: Harness, body: string) {
  const queue = h.queue()
  const broker = await h.broker()
  const consumer = await h.consume(broker, queue, { ack: true })
  await broker.publishRaw(queue, body)
  const inspector = await h.inspector()
  const dead = await eventually(
    () => inspector.deadLetters(queue),
    (d) => d.length === 1,
    h.ms(TIMING.prompt),
    'the malformed message in the dead-letter store',
  )
  return { queue, broker, consumer, entry: dead[0] as DeadLetter }
}

function expectMalformed(entry: DeadLetter, body: string, queue: string) {
  expect(entry.reason).toBe('malformed')
  expect(entry.queue).toBe(queue)
  expect(entry.envelope).toBeUndefined()
  expect(typeof entry.raw).toBe('string')
  expect(body.startsWith(entry.raw!) && entry.raw!.length > 0).toBe(true)
  expect(entry.error?.message).toBeTypeOf('string')
  expect(entry.deadAt).toBeGreaterThan(0)
}

export const badInputTests: BrokerTestTable<BadInputTestId> = {
  'bad-input.malformed-dead-lettered': {
    title: 'bytes that are not JSON are dead-lettered as malformed, with the raw body, never handed to the handler',
    requires: needsDeadLetterView,
    run: async (h) => {
      const body = '{"id": "broken", this is not json ✗'
      const { queue, consumer, entry } = await rawToDeadLetter(h, body)
      expectMalformed(entry, body, queue)
      await consumer.none(h.ms(TIMING.quiet), 'a malformed message handed to the handler')
    },
  },
  'bad-input.not-an-envelope': {
    title: 'valid JSON that is not an envelope is dead-lettered as malformed',
    requires: needsDeadLetterView,
    run: async (h) => {
      const body = JSON.stringify({ hello: 'world', task: 42 })
      const { queue, consumer, entry } = await rawToDeadLetter(h, body)
      expectMalformed(entry, body, queue)
      await consumer.none(h.ms(TIMING.quiet), 'a non-envelope handed to the handler')
    },
  },
  'bad-input.consumer-keeps-running': {
    title: 'after malformed messages the same subscription still receives valid ones',
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      const consumer = await h.consume(broker, queue, { ack: true, prefetch: 1 })
      await broker.publishRaw(queue, 'garbage')
      await broker.publishRaw(queue, '')
      await broker.publishRaw(queue, '[1,2,3]')
      const valid = h.envelope(queue)
      await broker.publish(valid)
      const got = await consumer.next(h.ms(TIMING.prompt), 'the valid message after malformed ones')
      expect(got.delivery.envelope).toEqual(valid)
      await eventually(
        () => broker.stats(queue),
        (s) => s.ready === 0 && s.inFlight === 0,
        h.ms(TIMING.prompt),
        'stats',
      )
    },
  },
  'bad-input.malformed-not-replayed': {
    title: 'replay never puts a malformed dead letter back on the live queue',
    requires: (caps, h) =>
      caps.deadLetterManagement ? needsDeadLetterView(caps, h) : 'claims deadLetterManagement: false',
    run: async (h) => {
      const { queue, broker, consumer } = await rawToDeadLetter(h, 'not json')
      expect(await broker.deadLetters.replay(queue)).toBe(0)
      expect(await broker.deadLetters.count(queue)).toBe(1)
      await consumer.none(h.ms(TIMING.quiet), 'a replayed malformed message')
    },
  },
  'bad-input.no-prototype-pollution': {
    title: '__proto__ / constructor keys in a raw message cannot pollute prototypes',
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      const consumer = await h.consume(broker, queue, { ack: true })
      const envelope = h.envelope(queue)
      const body = JSON.stringify(envelope).replace(
        '"payload":{"n":1}',
        '"payload":{"n":1,"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}',
      )
      expect(body).toContain('__proto__')
      await broker.publishRaw(queue, body)
      const got = await consumer.next(h.ms(TIMING.prompt), 'the message with dangerous keys')
      expect(({} as Record<string, unknown>).polluted).toBeUndefined()
      const payload = got.delivery.envelope.payload as Record<string, unknown>
      expect(Object.getPrototypeOf(payload)).toBe(Object.prototype)
      expect((payload as { polluted?: unknown }).polluted).toBeUndefined()
      expect(payload.n).toBe(1)
    },
  },
  'bad-input.unknown-task': {
    title: "core's worker on this broker: an unknown task is dead-lettered 'unknown-task' and the worker keeps going",
    requires: needsDeadLetterView,
    run: unknownTask,
  },
  'bad-input.poison-frees-slots': {
    title:
      'poison of every kind (nested thousands deep, not JSON, unknown task) is dead-lettered once and frees its slot',
    timeoutMs: 20_000,
    run: poisonFreesSlots,
  },
}
