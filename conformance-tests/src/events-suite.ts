import type {
  ConveyorEvent,
  EventRetention,
  EventStream,
  HistoryRetention,
  StoredEvent,
  TaskEvent,
  TaskHistory,
} from '@conveyor/core/adapter'
import { EventBatchBuilder, encodeEvent } from '@conveyor/core/adapter'
import { describe, expect, it } from 'vitest'
import { EventsHarness, type EventsTest, ids, readAllEvents } from './events-harness'
import { historyTests } from './events-history-tests'
import { rejection, sleep, within } from './harness/wait'
import type { BrokerContext } from './options'

/** Test ids of the event stream and task history suite. */
export const eventStreamTestIds = [
  'events.order',
  'events.resume',
  'events.cross-instance',
  'events.end',
  'events.batches',
  'events.blocking-read',
  'events.time-position',
  'events.retention-length',
  'events.bad-offset',
  'history.pending-from-enqueue',
  'history.out-of-order',
  'history.list-filters-pages',
  'history.retention',
] as const
export type EventStreamTestId = (typeof eventStreamTestIds)[number]

export interface EventStreamSuiteOptions {
  /** Shown in the describe block, e.g. `redis`. */
  readonly name: string
  /**
   * A stream on `ctx.namespace`; called again with the same namespace for a second instance (another process), which
   * must read what the first published. `retention` is passed through when a test needs tight bounds.
   */
  readonly createStream: (ctx: BrokerContext, retention?: EventRetention) => EventStream | Promise<EventStream>
  /** A task history on `ctx.namespace`; leave out when the adapter has none (the history tests are then skipped). */
  readonly createHistory?: (ctx: BrokerContext, retention?: HistoryRetention) => TaskHistory | Promise<TaskHistory>
  readonly cleanup?: (ctx: BrokerContext) => Promise<void>
  /** Tests to skip, each with the reason shown in the report. */
  readonly skip?: Partial<Record<EventStreamTestId, string>>
  readonly timeScale?: number
}

/**
 * Runs started and succeeded (pair rows), a retry between, and text JSON must escape, as the app's publisher builds
 * them for a stream with `publishBatch`; with what a reader must get back (the events as JSON gives them).
 */
function batchOfRuns(h: EventsHarness, from: number): { events: ConveyorEvent[]; expected: unknown[] } {
  const events: ConveyorEvent[] = []
  for (let n = from; n < from + 6; n++) {
    const started = h.event(n, n % 3 === 0 ? { notBefore: Date.now() - 50 } : {}) as Extract<
      ConveyorEvent,
      { type: 'task.started' }
    >
    events.push(started)
    if (n % 3 === 1) {
      const { deliveryCount: _d, enqueuedAt: _e, ...base } = started
      events.push({
        ...base,
        type: 'task.retried',
        durationMs: 2,
        delayMs: 10,
        error: { name: 'Error', message: 'é "x"' },
      })
    } else {
      const { deliveryCount: _d, enqueuedAt: _e, notBefore: _n, ...base } = started
      events.push({
        ...base,
        type: 'task.succeeded',
        at: started.at + 3,
        durationMs: 3,
        result: `{"n":${n},"s":"ü\\n"}`,
      })
    }
  }
  return { events, expected: events.map((event) => JSON.parse(encodeEvent(event)) as unknown) }
}

const tests: { readonly [K in EventStreamTestId]: EventsTest } = {
  'events.order': {
    title: 'events come back in publish order, field for field, with distinct offsets',
    run: async (h) => {
      const stream = await h.stream()
      const first = Array.from({ length: 30 }, (_, n) => h.event(n))
      const failed = h.event(99, {
        type: 'task.failed',
        durationMs: 3,
        error: { name: 'TypeError', message: 'ünïcødé <b>', stack: 'TypeError\n  at x' },
      } as Partial<TaskEvent>)
      await stream.publish(first)
      await stream.publish([failed])
      const read = await readAllEvents(stream, 7)
      expect(read.map((e) => e.event)).toEqual([...first, failed])
      expect(new Set(read.map((e) => e.offset)).size).toBe(31)
    },
  },
  'events.resume': {
    title: 'a read after an offset returns exactly what followed it: nothing repeated, nothing missed',
    run: async (h) => {
      const stream = await h.stream()
      await stream.publish(Array.from({ length: 10 }, (_, n) => h.event(n)))
      const firstPage = await stream.read('start', { limit: 4 })
      expect(firstPage.events).toHaveLength(4)
      await stream.publish(Array.from({ length: 5 }, (_, n) => h.event(10 + n)))
      const rest: StoredEvent[] = []
      let cursor = firstPage.cursor
      for (;;) {
        const page = await stream.read({ after: cursor }, { limit: 3 })
        if (page.events.length === 0) break
        rest.push(...page.events)
        cursor = page.cursor
      }
      expect(ids([...firstPage.events, ...rest])).toEqual(Array.from({ length: 15 }, (_, n) => h.event(n).id))
      const empty = await stream.read({ after: cursor })
      expect(empty.events).toEqual([])
      expect(empty.cursor).toBe(cursor)
    },
  },
  'events.cross-instance': {
    title: 'a second instance (another process) reads what the first published, in order',
    run: async (h) => {
      const writer = await h.stream()
      const reader = await h.stream()
      const events = Array.from({ length: 20 }, (_, n) => h.event(n))
      for (let i = 0; i < 20; i += 5) await writer.publish(events.slice(i, i + 5))
      expect((await readAllEvents(reader)).map((e) => e.event)).toEqual(events)
    },
  },
  'events.batches': {
    title:
      'a batch written with publishBatch (pair rows, names, escapes) reads back event for event, and resumes from any offset, one inside a pair included',
    notFor: (stream) => (stream.publishBatch === undefined ? 'the stream has no publishBatch' : undefined),
    run: async (h) => {
      const stream = await h.stream()
      const builder = new EventBatchBuilder()
      const first = batchOfRuns(h, 0)
      const second = batchOfRuns(h, 10)
      for (const event of first.events) builder.add(event)
      await stream.publishBatch!(builder.take()!)
      for (const event of second.events) builder.add(event)
      await stream.publishBatch!(builder.take()!)
      const read = await readAllEvents(stream, 3)
      const expected = [...first.expected, ...second.expected]
      expect(read.map((e) => e.event)).toEqual(expected)
      expect(new Set(read.map((e) => e.offset)).size).toBe(expected.length)
      for (let i = 0; i < read.length; i++) {
        const next = await stream.read({ after: read[i]!.offset }, { limit: 1 })
        expect(next.events.map((e) => e.event)).toEqual(expected.slice(i + 1, i + 2))
      }
    },
  },
  'events.end': {
    title: "a read from 'end' skips what is there and its cursor catches everything published after",
    run: async (h) => {
      const stream = await h.stream()
      await stream.publish([h.event(1), h.event(2)])
      const end = await stream.read('end')
      expect(end.events).toEqual([])
      await stream.publish([h.event(3)])
      const next = await stream.read({ after: end.cursor })
      expect(ids(next.events)).toEqual([h.event(3).id])
    },
  },
  'events.blocking-read': {
    title: 'a blocking read wakes on the next publish, times out empty, and resolves promptly on abort',
    run: async (h) => {
      const writer = await h.stream()
      const reader = await h.stream()
      const { cursor } = await reader.read('end')
      let publishedAt = 0
      const waiting = reader.read({ after: cursor }, { blockMs: h.ms(5000) }).then((page) => ({
        page,
        ms: Date.now() - publishedAt,
      }))
      await sleep(h.ms(150))
      publishedAt = Date.now()
      await writer.publish([h.event(1)])
      const { page, ms } = await within(waiting, h.ms(3000), 'blocking read')
      expect(ids(page.events)).toEqual([h.event(1).id])
      expect(ms, 'ms from publish to the blocked read returning').toBeLessThanOrEqual(h.ms(1000))
      const started = Date.now()
      const idle = await reader.read({ after: page.cursor }, { blockMs: h.ms(300) })
      expect(idle.events).toEqual([])
      expect(Date.now() - started).toBeGreaterThanOrEqual(h.ms(250))
      const controller = new AbortController()
      const aborted = reader.read({ after: page.cursor }, { blockMs: h.ms(10_000), signal: controller.signal })
      await sleep(h.ms(50))
      const abortedAt = Date.now()
      controller.abort()
      expect((await within(aborted, h.ms(2000), 'aborted read')).events).toEqual([])
      expect(Date.now() - abortedAt).toBeLessThanOrEqual(h.ms(500))
    },
  },
  'events.time-position': {
    title: 'a read from { time } starts at the first event published at or after it',
    run: async (h) => {
      const stream = await h.stream()
      await stream.publish([h.event(1)])
      await sleep(h.ms(100))
      const time = Date.now()
      await sleep(h.ms(100))
      await stream.publish([h.event(2), h.event(3)])
      expect(ids((await stream.read({ time })).events)).toEqual([h.event(2).id, h.event(3).id])
    },
  },
  'events.retention-length': {
    title: 'a length bound drops the oldest events; a reader behind them resumes at the oldest retained',
    run: async (h) => {
      const stream = await h.stream({ maxLength: 100 })
      await stream.publish([h.event(0)])
      const { cursor } = await stream.read('start', { limit: 1 })
      for (let i = 1; i <= 2000; i += 100) await stream.publish(Array.from({ length: 100 }, (_, n) => h.event(i + n)))
      const kept = await readAllEvents(stream, 500)
      // Stores that trim in blocks (Redis MAXLEN ~) keep somewhat more than the bound, never unboundedly more.
      expect(kept.length).toBeGreaterThanOrEqual(100)
      expect(kept.length).toBeLessThanOrEqual(400)
      expect(kept.at(-1)?.event).toMatchObject({ id: h.event(2000).id })
      const resumed = await stream.read({ after: cursor }, { limit: 1 })
      expect(resumed.events[0]?.offset).toBe(kept[0]?.offset)
    },
  },
  'events.bad-offset': {
    title: 'an offset that is not one of the stream rejects with InvalidOptionsError',
    run: async (h) => {
      const stream = await h.stream()
      const error = await rejection(stream.read({ after: 'not an offset' }), 'a read after a bad offset')
      expect(error).toMatchObject({ code: 'CONVEYOR_INVALID_OPTIONS' })
    },
  },
  ...historyTests,
}

/**
 * The event stream and task history suite: order, resume from an offset, a second instance, blocking reads,
 * positions, retention, bad offsets; history from events (pending, out of order, filters and pages, retention).
 */
export function runEventStreamConformance(options: EventStreamSuiteOptions): void {
  describe(`${options.name} conformance: event stream and history`, () => {
    for (const id of eventStreamTestIds) {
      const test = tests[id]
      it(
        `[${id}] ${test.title}`,
        async (ctx) => {
          let reason =
            options.skip?.[id] ??
            (test.history && options.createHistory === undefined ? 'has no task history of its own' : undefined)
          if (reason !== undefined) ctx.skip(`skipped by ${options.name}: ${reason}`)
          const h = new EventsHarness(options)
          try {
            if (test.notFor !== undefined) {
              reason = test.notFor(await h.stream())
              if (reason !== undefined) ctx.skip(`not for ${options.name}: ${reason}`)
            }
            await test.run(h)
          } finally {
            await h.dispose()
          }
        },
        Math.round(20_000 * (options.timeScale ?? 1)),
      )
    }
  })
}
