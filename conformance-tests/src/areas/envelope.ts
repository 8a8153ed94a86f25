import { encodeEnvelope, type JsonValue, utf8Length } from '@conveyor/core/adapter'
import { expect } from 'vitest'
import type { BrokerTestTable } from '../define'
import type { Harness } from '../harness/harness'
import { TIMING } from '../harness/harness'
import type { EnvelopeTestId } from '../ids'

/** Publish `envelope`, receive it on a fresh consumer, and require it equal, field for field. */
async function roundTrip(h: Harness, overrides: Parameters<Harness['envelope']>[1]): Promise<void> {
  const queue = h.queue()
  const broker = await h.broker()
  const sent = h.envelope(queue, overrides)
  await broker.publish(sent)
  const consumer = await h.consume(broker, queue, { ack: true })
  const { delivery } = await consumer.next(h.ms(TIMING.prompt), 'the published envelope')
  expect(delivery.envelope).toEqual(sent)
  expect(consumer.errors).toEqual([])
}

const UNICODE = [
  'ünïcødé — “quotes” ‘single’',
  '日本語のテキスト，中文，한국어',
  'עברית ومرحبا بالعربية (right to left)',
  'emoji 🚀👩🏽‍💻🏳️‍🌈 and astral 𝕏𝔸',
  'combining: e\u0301 a\u0308; zero width: a\u200bb; BOM: \ufeff',
  'controls: \u0000 \u0001 \t \n \r \u2028 \u2029',
  'escapes: \\ / " \\u0041 not an escape',
]

function nested(depth: number): JsonValue {
  let value: JsonValue = { leaf: true, list: [1, 'two', null, false, { three: 3 }] }
  for (let i = 0; i < depth; i++) value = { level: i, child: value, siblings: [i, [i, [i]]] }
  return value
}

export const envelopeTests: BrokerTestTable<EnvelopeTestId> = {
  'envelope.round-trip': {
    title: 'a consumer receives exactly the envelope that was published, every optional field included',
    run: (h) =>
      roundTrip(h, {
        task: 'conformance.round-trip',
        payload: { to: 'a@example.com', count: 3, tags: ['x', 'y'], ok: true, none: null },
        priority: 0,
        attempt: 2,
        maxAttempts: 7,
        createdAt: Date.now() - 12_345,
        expiresAt: Date.now() + 3_600_000,
        parentId: 'parent-1',
        rootId: 'root-1',
        trace: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'congo=t61' },
        headers: { 'x-tenant': 'acme', 'x-empty': '' },
      }),
  },
  'envelope.unicode': {
    title: 'unicode in the task name, payload and headers survives the round trip',
    run: (h) =>
      roundTrip(h, {
        task: 'conformance.ünïcødé.🚀',
        payload: { texts: UNICODE, [UNICODE[3]!]: UNICODE[2]!, joined: UNICODE.join('|') },
        headers: { 'x-note': UNICODE[1]! },
      }),
  },
  'envelope.nested-json': {
    title: 'deeply nested JSON, arrays, numbers and empty containers survive the round trip',
    run: (h) =>
      roundTrip(h, {
        payload: {
          tree: nested(40),
          numbers: [0, 1, -1, 0.1, 1e-7, 1.7976931348623157e308, -9007199254740991, 9007199254740991],
          empty: { object: {}, array: [], string: '' },
          keys: { 'with space': 1, 'with.dot': 2, 'with"quote': 3, '': 4 },
        },
      }),
  },
  'envelope.large-payload': {
    title: 'a 1 MB payload survives the round trip',
    requires: (caps, h) => {
      const size = utf8Length(encodeEnvelope(h.envelope('q', { payload: 'x'.repeat(1_000_000) })))
      return caps.maxMessageBytes < size
        ? `claims maxMessageBytes: ${caps.maxMessageBytes}, below a 1 MB payload's ${size} bytes`
        : undefined
    },
    run: async (h) => {
      // Varied content rather than one repeated byte, so a truncation or re-encoding shows.
      const chunk = 'conveyor-é-'.repeat(1000)
      const payload = { blob: chunk.repeat(Math.floor(1_000_000 / utf8Length(chunk))), tail: 'end' }
      await roundTrip(h, { payload })
    },
  },
}
