import { describe, expect, it } from 'vitest'
import type { ConveyorEvent, EventStream } from '../../src/adapter'
import { EventPublisher, encodeEvent, joinEncoded } from '../../src/adapter'
import { resolveLogger } from '../../src/logging/logger'

const odd = ['plain', 'with "quotes"', 'back\\slash', 'new\nline', 'tab\t', 'é ü 中文', '\ud800 lone', '😀', '']

describe('encodeEvent: one event as JSON, once', () => {
  it('reads back exactly as JSON.stringify would write it, whatever the names hold', () => {
    for (const name of odd) {
      const events: ConveyorEvent[] = [
        {
          type: 'task.started',
          id: `id-${name}`,
          task: name,
          queue: name,
          attempt: 2,
          at: 1764700000123,
          worker: name,
          deliveryCount: 3,
          enqueuedAt: 1764700000000,
          notBefore: 1764700000050,
        },
        { type: 'task.started', id: name, task: 't', queue: 'q', attempt: 1, at: 1, deliveryCount: 1, enqueuedAt: 0 },
        {
          type: 'task.succeeded',
          id: name,
          task: name,
          queue: 'q',
          attempt: 1,
          at: 5,
          worker: 'w:1:1',
          durationMs: 4,
          result: `{"text":${JSON.stringify(name)}}`,
          resultTruncated: true,
        },
        { type: 'task.succeeded', id: 'x', task: 't', queue: 'q', attempt: 1, at: 5, durationMs: 0 },
        {
          type: 'task.failed',
          id: name,
          task: 't',
          queue: 'q',
          attempt: 1,
          at: 5,
          durationMs: 1,
          error: { name, message: name },
        },
      ]
      for (const event of events) {
        expect(JSON.parse(encodeEvent(event))).toEqual(JSON.parse(JSON.stringify(event)))
      }
      expect(JSON.parse(joinEncoded(events.map(encodeEvent)))).toEqual(JSON.parse(JSON.stringify(events)))
    }
  })

  it('leaves out optional fields that are undefined, as JSON.stringify does', () => {
    const text = encodeEvent({
      type: 'task.succeeded',
      id: 'a',
      task: 't',
      queue: 'q',
      attempt: 1,
      at: 1,
      durationMs: 0,
      result: undefined,
      resultTruncated: undefined,
    })
    expect(text).not.toContain('result')
    expect(text).not.toContain('worker')
  })
})

describe('EventPublisher with a stream that takes encoded events', () => {
  it('hands the stream each event encoded once, in order, and counts them', async () => {
    const written: string[][] = []
    const stream: EventStream = {
      name: 'test',
      retention: {},
      connect: async () => undefined,
      close: async () => undefined,
      publish: async () => {
        throw new Error('publishEncoded is there: publish must not be used')
      },
      publishEncoded: async (texts) => {
        written.push([...texts])
      },
      read: async () => ({ events: [], cursor: '' }),
    }
    const publisher = new EventPublisher({ stream, history: undefined, logger: resolveLogger(false), maxBatch: 3 })
    for (let i = 0; i < 7; i++) {
      publisher.push({
        type: 'task.started',
        id: `r${i}`,
        task: 't',
        queue: 'q',
        attempt: 1,
        at: i,
        deliveryCount: 1,
        enqueuedAt: 0,
      })
    }
    await publisher.flush()
    expect(written.map((batch) => batch.length)).toEqual([3, 3, 1])
    expect(written.flat().map((text) => (JSON.parse(text) as { id: string }).id)).toEqual([
      'r0',
      'r1',
      'r2',
      'r3',
      'r4',
      'r5',
      'r6',
    ])
    expect(publisher.stats()).toMatchObject({ published: 7, failed: 0, dropped: 0, buffered: 0 })
  })
})
