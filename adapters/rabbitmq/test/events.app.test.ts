import { type ConveyorEvent, createApp, fixed, type StoredEvent } from '@conveyor/core'
import { createMemoryTaskHistory, followIntoHistory } from '@conveyor/core/adapter'
import { createRabbitMQEventStream, createRabbitMQResultBackend, eventStreamQueue } from '@conveyor/rabbitmq'
import { AMQP_URL, eventually } from '@conveyor/test-support'
import { afterAll, describe, expect, it } from 'vitest'
import { cleanup, makeBroker, uniquePrefix } from './helpers'

const prefixes: string[] = []
afterAll(async () => {
  for (const prefix of prefixes) await cleanup(prefix, [eventStreamQueue(prefix)])
})

async function collect(iterable: AsyncIterable<StoredEvent>, done: (events: ConveyorEvent[]) => boolean) {
  const events: ConveyorEvent[] = []
  for await (const stored of iterable) {
    events.push(stored.event)
    if (done(events)) break
  }
  return events
}

describe('rabbitmq: events in a stream queue, history from the stream', () => {
  it('another app reads every run in order; a follower folds the stream into a history (RPC results keep none)', async () => {
    const prefix = uniquePrefix('events')
    prefixes.push(prefix)
    const app = createApp({
      broker: makeBroker(prefix),
      results: createRabbitMQResultBackend({ url: AMQP_URL, prefix, logger: false }),
      logger: false,
      events: true,
    })
    const reader = createApp({ broker: makeBroker(prefix), results: false, logger: false, events: false })
    try {
      // RPC results route each record to its producer: there is no shared store to keep history in.
      expect(app.history).toBeUndefined()
      let calls = 0
      const work = app.task(
        'events.work',
        async (n: number) => {
          if (n === 0 && ++calls === 1) throw new Error('once')
          return n
        },
        { queue: 'work', retry: { maxAttempts: 2, backoff: fixed(1) } },
      )
      await app.worker({ queues: ['work'], concurrency: 10 }).start()
      const jobs = await work.enqueueMany(Array.from({ length: 50 }, (_, n) => n))
      const events = await collect(
        reader.events.subscribe({ from: 'start', types: ['task.*'] }),
        (seen) => seen.filter((e) => e.type === 'task.succeeded').length === 50,
      )
      const sequence = (id: string) => events.filter((e) => 'id' in e && e.id === id).map((e) => e.type)
      expect(sequence(jobs[0]!.id)).toEqual([
        'task.enqueued',
        'task.started',
        'task.retried',
        'task.started',
        'task.succeeded',
      ])
      for (const job of jobs.slice(1)) {
        expect(sequence(job.id)).toEqual(['task.enqueued', 'task.started', 'task.succeeded'])
      }
      const history = createMemoryTaskHistory()
      const stop = new AbortController()
      const following = followIntoHistory({ stream: reader.events.stream!, history, signal: stop.signal })
      const deadline = Date.now() + 10_000
      while ((await history.list({ state: 'succeeded', limit: 100 })).runs.length < 50 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      stop.abort()
      await following
      expect((await history.list({ state: 'succeeded', limit: 100 })).runs).toHaveLength(50)
      expect(await history.get(jobs[0]!.id)).toMatchObject({
        attempts: [{ outcome: 'retried', error: { message: 'once' } }, { outcome: 'succeeded' }],
      })
      expect(app.events.stats()).toMatchObject({ failed: 0, dropped: 0 })
    } finally {
      await reader.close()
      await app.close()
    }
  }, 60_000)

  it('a stream bounded by bytes drops the oldest segments (x-max-length-bytes)', async () => {
    const prefix = uniquePrefix('events-bytes')
    prefixes.push(prefix)
    const stream = createRabbitMQEventStream({ url: AMQP_URL, prefix, retention: { maxBytes: 300_000 } })
    try {
      const event = (n: number): ConveyorEvent => ({
        type: 'task.enqueued',
        id: `${prefix}-${n}`,
        task: 'events.bytes',
        queue: 'q',
        attempt: 1,
        at: Date.now(),
        priority: 0,
        maxAttempts: 1,
        input: 'x'.repeat(400),
      })
      for (let i = 0; i < 3000; i += 500) await stream.publish(Array.from({ length: 500 }, (_, n) => event(i + n)))
      // The whole stream, read from the start with reads that wait (one that does not gives up when the broker is slow
      // to send the next chunk: a loaded CI machine ended a read after 40 events).
      const readAll = async () => {
        const events: ConveyorEvent[] = []
        let page = await stream.read('start', { limit: 1000, blockMs: 500 })
        while (page.events.length > 0) {
          events.push(...page.events.map((stored) => stored.event))
          page = await stream.read({ after: page.cursor }, { limit: 1000, blockMs: 500 })
        }
        return events
      }
      // About 1.5 MB published into a 300 KB bound: the oldest segments are gone, the newest events are there. How
      // many stay depends on where RabbitMQ last rolled a segment (once only the newest 40: it can keep just the
      // active one), so the check is the two ends, read until retention has run (it follows the writes).
      let kept: ConveyorEvent[] = []
      await eventually(
        async () => {
          kept = await readAll()
          return kept.length > 0 && kept.length < 2000
        },
        20_000,
        'a stream cut to its bound that still holds the newest events',
      )
      expect(kept[0]).not.toMatchObject({ id: `${prefix}-0` })
      expect(kept.at(-1)).toMatchObject({ id: `${prefix}-2999` })
    } finally {
      await stream.close()
      expect(eventStreamQueue(prefix)).toBe(`${prefix}.events.stream`)
    }
  }, 60_000)
})
