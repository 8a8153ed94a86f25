import { describe, expect, it } from 'vitest'
import type { ConveyorEvent, EncodedEventBatch, EventStream } from '../../src/adapter'
import { batchText, decodeEventBatch, EventBatchBuilder, EventPublisher, encodeEvent } from '../../src/adapter'
import { resolveLogger } from '../../src/logging/logger'

type Started = Extract<ConveyorEvent, { type: 'task.started' }>
type Succeeded = Extract<ConveyorEvent, { type: 'task.succeeded' }>

const T0 = 1_764_670_000_123

function started(id: string, extra: Partial<Started> = {}): Started {
  return {
    type: 'task.started',
    id,
    task: 'email.send',
    queue: 'emails',
    attempt: 1,
    at: T0 + 10,
    worker: 'host-1:4242:1',
    deliveryCount: 1,
    enqueuedAt: T0,
    ...extra,
  }
}

function succeeded(id: string, extra: Partial<Succeeded> = {}): Succeeded {
  return {
    type: 'task.succeeded',
    id,
    task: 'email.send',
    queue: 'emails',
    attempt: 1,
    at: T0 + 25,
    worker: 'host-1:4242:1',
    durationMs: 14,
    ...extra,
  }
}

/** What a reader of the old encoding (one JSON object per event) gets for these events. */
const asRead = (events: readonly ConveyorEvent[]) => events.map((event) => JSON.parse(encodeEvent(event)) as unknown)

function decode(batch: EncodedEventBatch | undefined): (ConveyorEvent | undefined)[] {
  expect(batch).toBeDefined()
  return decodeEventBatch(batchText(batch!), batch!.names)!
}

function build(events: readonly ConveyorEvent[]): EncodedEventBatch | undefined {
  const builder = new EventBatchBuilder()
  for (const event of events) builder.add(event)
  return builder.take()
}

describe('EventBatchBuilder: a batch as bytes, read back as the events written', () => {
  it('writes a run that started and succeeded in the batch as one row, read back as both events', () => {
    const events = [started('a', { notBefore: T0 + 5 }), succeeded('a', { result: '{"sent":true}' })]
    const batch = build(events)
    expect(batch!.count).toBe(2)
    const items = JSON.parse(batchText(batch!)) as unknown[]
    expect(items).toHaveLength(1)
    expect(Array.isArray(items[0])).toBe(true)
    expect(decode(batch)).toEqual(asRead(events))
    // A sixth of the bytes of the two events as objects, or near it.
    expect(batch!.bytes.byteLength).toBeLessThan(events.map(encodeEvent).join(',').length / 3)
  })

  it('keeps each run in order and loses nothing when runs interleave, retry, fail and report progress', () => {
    const retried: ConveyorEvent = {
      type: 'task.retried',
      id: 'b',
      task: 'email.send',
      queue: 'emails',
      attempt: 1,
      at: T0 + 30,
      worker: 'host-1:4242:1',
      durationMs: 3,
      delayMs: 1000,
      error: { name: 'Error', message: 'smtp down' },
    }
    const online: ConveyorEvent = {
      type: 'worker.online',
      worker: 'host-1:4242:1',
      at: T0,
      queues: ['emails'],
      concurrency: 50,
    } as unknown as ConveyorEvent
    const events: ConveyorEvent[] = [
      online,
      started('a'),
      started('b'),
      started('c', { attempt: 2 }),
      retried, // b's start goes out first
      succeeded('a'),
      succeeded('c', { attempt: 3 }), // another attempt than the held start: two events
      started('d'),
      started('d', { deliveryCount: 2 }), // redelivered in the same batch: the first start is written
      succeeded('d'),
      started('e'), // still running at the end of the batch: written last
    ]
    const read = decode(build(events))
    expect(read).toHaveLength(events.length)
    expect(new Set(read.map((event) => JSON.stringify(event)))).toEqual(
      new Set(asRead(events).map((event) => JSON.stringify(event))),
    )
    for (const id of ['a', 'b', 'c', 'd', 'e']) {
      const ofRun = (list: readonly unknown[]) => list.filter((event) => (event as { id?: string }).id === id)
      expect(ofRun(read)).toEqual(ofRun(asRead(events)))
    }
  })

  it('writes any text and number as JSON does: escapes, non-ASCII, lone surrogates, negatives, fractions, NaN', () => {
    const odd = 'quote" back\\slash\nnew line \u0001 é 漢字 😀 \ud800 end'
    const events = [
      started(odd, { task: 'tâche "x"', queue: 'q\\1', worker: 'hôte:1:1' }),
      succeeded(odd, { task: 'tâche "x"', queue: 'q\\1', worker: 'hôte:1:1', durationMs: -2.5, result: odd }),
      started('n', { at: Number.NaN, enqueuedAt: 2 ** 60, deliveryCount: 0.5 }),
      succeeded('n', {
        at: Number.POSITIVE_INFINITY,
        durationMs: Number.MAX_SAFE_INTEGER,
        resultTruncated: true,
        result: '"…"',
      }),
      started('w', { worker: undefined }),
      succeeded('w', { worker: undefined }),
      started('t', { at: 2 ** 31 - 1, enqueuedAt: 2 ** 31, notBefore: 1e8 }),
      succeeded('t', { at: 9_999_999_999_999, durationMs: 0 }),
    ]
    expect(decode(build(events))).toEqual(asRead(events))
  })

  it('grows past its first buffer, and starts each batch afresh (names included)', () => {
    const builder = new EventBatchBuilder()
    const big = 'x'.repeat(5000)
    const events: ConveyorEvent[] = []
    for (let i = 0; i < 20; i++) events.push(started(`r${i}`), succeeded(`r${i}`, { result: JSON.stringify(big) }))
    for (const event of events) builder.add(event)
    const first = builder.take()!
    expect(first.bytes.byteLength).toBeGreaterThan(100_000)
    expect(decodeEventBatch(batchText(first), first.names)).toEqual(asRead(events))
    expect(builder.take()).toBeUndefined()
    const next = [
      started('z', { task: 'other', queue: 'other-q' }),
      succeeded('z', { task: 'other', queue: 'other-q' }),
    ]
    for (const event of next) builder.add(event)
    const second = builder.take()!
    expect(second.names).toEqual(['other', 'other-q', 'host-1:4242:1'])
    expect(decodeEventBatch(batchText(second), second.names)).toEqual(asRead(next))
  })

  it('carries a start begun within the interval to the next batch, where its success joins it in one row', () => {
    const builder = new EventBatchBuilder()
    builder.add(started('old', { at: 100 }))
    builder.add(started('young', { at: 200 }))
    builder.add(succeeded('other'))
    const first = builder.take({ since: 150, until: 1000, max: 10 })!
    expect(first.count).toBe(2)
    expect(decode(first)).toEqual(asRead([succeeded('other'), started('old', { at: 100 })]))
    expect(builder.size).toBe(1)
    builder.add(succeeded('young'))
    const second = builder.take({ since: 150, until: 1000, max: 10 })!
    expect(second.count).toBe(2)
    expect(JSON.parse(batchText(second))).toHaveLength(1)
    expect(decode(second)).toEqual(asRead([started('young', { at: 200 }), succeeded('young')]))
    // Without `carry` (a barrier, close) every held start is written.
    builder.add(started('last', { at: 300 }))
    expect(builder.take({ since: 0, until: 1000, max: 10 })).toBeUndefined()
    expect(decode(builder.take())).toEqual(asRead([started('last', { at: 300 })]))
    expect(builder.size).toBe(0)
  })

  it('writes a start stamped after `until` (a clock set back) rather than carrying it while the clock is behind', () => {
    const builder = new EventBatchBuilder()
    builder.add(started('ahead', { at: 5000 }))
    builder.add(started('now', { at: 900 }))
    const batch = builder.take({ since: 800, until: 1000, max: 10 })!
    expect(decode(batch)).toEqual(asRead([started('ahead', { at: 5000 })]))
    expect(builder.size).toBe(1)
  })

  it('keeps a success that says its result was cut but carries none as an event of its own', () => {
    const odd = [started('cut'), succeeded('cut', { resultTruncated: true })]
    expect(JSON.parse(batchText(build(odd)!))).toHaveLength(2)
    expect(decode(build(odd))).toEqual(asRead(odd))
  })

  it('carries at most `max` starts: the oldest beyond it are written', () => {
    const builder = new EventBatchBuilder()
    for (let i = 0; i < 10; i++) builder.add(started(`s${i}`, { at: 1000 + i }))
    const batch = builder.take({ since: 0, until: 2000, max: 4 })!
    expect(batch.count).toBe(6)
    expect(decode(batch).map((event) => (event as Started).id)).toEqual(['s0', 's1', 's2', 's3', 's4', 's5'])
    expect(builder.size).toBe(4)
  })
})

describe('decodeEventBatch: what it does with what another writer left', () => {
  it('gives undefined for text that is not an array, and keeps positions for items it cannot read', () => {
    expect(decodeEventBatch('{"type":"task.started"}')).toBeUndefined()
    const read = decodeEventBatch('[{"type":"worker.offline","worker":"w","at":1}, 7, [1,"id",5,0,-1], [9], null]', [
      't',
    ])!
    expect(read).toEqual([
      { type: 'worker.offline', worker: 'w', at: 1 },
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ])
  })
})

describe('EventPublisher with a stream that stores batches', () => {
  function batchStream(): EventStream & { batches: EncodedEventBatch[] } {
    const stream = {
      name: 'batches',
      batches: [] as EncodedEventBatch[],
      publish: () => Promise.reject(new Error('publish is not used when publishBatch is there')),
      publishBatch: async (batch: EncodedEventBatch) => {
        stream.batches.push(batch)
      },
    }
    return stream as unknown as EventStream & { batches: EncodedEventBatch[] }
  }

  it('writes every event, pairs counted as two, and holds nothing back after flush()', async () => {
    const stream = batchStream()
    const publisher = new EventPublisher({ stream, history: undefined, logger: resolveLogger(false), maxBatch: 100 })
    const events: ConveyorEvent[] = []
    for (let i = 0; i < 1000; i++) events.push(started(`r${i}`, { at: Date.now() }), succeeded(`r${i}`))
    events.push(started('running', { at: Date.now() }))
    for (const event of events) publisher.push(event)
    await publisher.flush()
    const read = stream.batches.flatMap((batch) => decodeEventBatch(batchText(batch), batch.names)!)
    expect(read).toHaveLength(events.length)
    expect(new Set(read.map((event) => JSON.stringify(event)))).toEqual(
      new Set(asRead(events).map((event) => JSON.stringify(event))),
    )
    expect(publisher.stats()).toMatchObject({ published: events.length, buffered: 0, dropped: 0, failed: 0 })
  })

  it('writes a start it carried by the next timer flush when no success comes', async () => {
    const stream = batchStream()
    const publisher = new EventPublisher({
      stream,
      history: undefined,
      logger: resolveLogger(false),
      flushIntervalMs: 10,
    })
    publisher.push(started('long', { at: Date.now() }))
    await new Promise((resolve) => setTimeout(resolve, 60))
    const read = stream.batches.flatMap((batch) => decodeEventBatch(batchText(batch), batch.names)!)
    expect(read).toEqual(asRead([started('long', { at: (read[0] as Started | undefined)?.at ?? 0 })]))
    expect(publisher.stats().buffered).toBe(0)
  })
})
