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
import { newNamespace } from './harness/harness'
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

class EventsHarness {
  readonly context: BrokerContext = { namespace: newNamespace() }
  private readonly opened: { close(): Promise<void> }[] = []
  private seq = 0

  constructor(readonly options: EventStreamSuiteOptions) {}

  ms(ms: number): number {
    return Math.round(ms * (this.options.timeScale ?? 1))
  }

  async stream(retention?: EventRetention): Promise<EventStream> {
    const stream = await this.options.createStream(this.context, retention)
    this.opened.push(stream)
    await stream.connect()
    return stream
  }

  async history(retention?: HistoryRetention): Promise<TaskHistory> {
    const history = await this.options.createHistory!(this.context, retention)
    this.opened.push(history)
    await history.connect()
    return history
  }

  /** A `task.started` event with a per-test unique id (`n` numbers it within the test). */
  event(n: number, extra: Partial<TaskEvent> = {}): TaskEvent {
    this.seq += 1
    return {
      type: 'task.started',
      id: `${this.context.namespace}-run-${n}`,
      task: 'conformance.events',
      queue: 'q',
      attempt: 1,
      at: Date.now(),
      worker: 'host:1:1',
      deliveryCount: 1,
      enqueuedAt: Date.now() - 5,
      ...extra,
    } as TaskEvent
  }

  async dispose(): Promise<void> {
    await Promise.all(this.opened.map((s) => s.close().catch(() => {})))
    await this.options.cleanup?.(this.context)
  }
}

/** Read every retained event from `from` by pages of `limit`. */
async function readAll(stream: EventStream, limit = 100): Promise<StoredEvent[]> {
  const out: StoredEvent[] = []
  let page = await stream.read('start', { limit })
  while (page.events.length > 0) {
    out.push(...page.events)
    page = await stream.read({ after: page.cursor }, { limit })
  }
  return out
}

const ids = (events: readonly StoredEvent[]) => events.map((e) => ('id' in e.event ? e.event.id : e.event.type))

type Test = {
  title: string
  history?: boolean
  /** Why the test does not apply to this stream, if it does not. */
  notFor?: (stream: EventStream) => string | undefined
  run: (h: EventsHarness) => Promise<void>
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

const tests: { readonly [K in EventStreamTestId]: Test } = {
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
      const read = await readAll(stream, 7)
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
      expect((await readAll(reader)).map((e) => e.event)).toEqual(events)
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
      const read = await readAll(stream, 3)
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
      const kept = await readAll(stream, 500)
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
  'history.pending-from-enqueue': {
    title: 'an enqueue event lists the run as pending; later events move it on, with its input and error',
    history: true,
    run: async (h) => {
      const history = await h.history()
      const id = `${h.context.namespace}-job`
      const base = { id, task: 'conformance.history', queue: 'q', attempt: 1 }
      const t = Date.now()
      await history.record([
        { type: 'task.enqueued', ...base, at: t, priority: 3, maxAttempts: 2, input: '{"n":1}' },
      ] as ConveyorEvent[])
      expect((await history.list({ state: 'pending' })).runs.map((r) => r.id)).toEqual([id])
      const error = { name: 'Error', message: 'boom', stack: 'Error: boom\n  at y' }
      await history.record([
        { type: 'task.started', ...base, at: t + 5, worker: 'w:1:1', deliveryCount: 1, enqueuedAt: t },
        { type: 'task.retried', ...base, at: t + 9, worker: 'w:1:1', durationMs: 4, delayMs: 10, error },
        { type: 'task.started', ...base, attempt: 2, at: t + 20, worker: 'w:2:1', deliveryCount: 1, enqueuedAt: t },
        { type: 'task.dead-lettered', ...base, attempt: 2, at: t + 25, durationMs: 5, reason: 'max-attempts', error },
      ] as ConveyorEvent[])
      expect((await history.list({ state: 'pending' })).runs).toEqual([])
      const [run] = (await history.list({ state: 'dead-lettered' })).runs
      expect(run).toMatchObject({ id, state: 'dead-lettered', attempt: 2, enqueuedAt: t, finishedAt: t + 25 })
      const detail = await history.get(id)
      expect(detail).toMatchObject({ input: '{"n":1}', priority: 3, error, waitMs: 5, deliveryCount: 1 })
      expect(detail?.attempts.map((a) => [a.attempt, a.worker, a.outcome])).toEqual([
        [1, 'w:1:1', 'retried'],
        [2, 'w:2:1', 'dead-lettered'],
      ])
      expect(await history.get(`${h.context.namespace}-unknown`)).toBeUndefined()
    },
  },
  'history.out-of-order': {
    title: "a producer's enqueue event arriving after the worker's start does not make the run pending again",
    history: true,
    run: async (h) => {
      const history = await h.history()
      const id = `${h.context.namespace}-late`
      const base = { id, task: 'conformance.history', queue: 'q', attempt: 1 }
      const t = Date.now()
      await history.record([
        { type: 'task.started', ...base, at: t + 3, deliveryCount: 1, enqueuedAt: t },
      ] as ConveyorEvent[])
      await history.record([
        { type: 'task.enqueued', ...base, at: t, priority: 0, maxAttempts: 1, input: '"late"' },
      ] as ConveyorEvent[])
      expect(await history.get(id)).toMatchObject({ state: 'started', input: '"late"', enqueuedAt: t })
      expect((await history.list({ state: 'started' })).runs.map((r) => r.id)).toEqual([id])
    },
  },
  'history.list-filters-pages': {
    title: 'list filters by state, queue, task, time and search, newest first, in pages that never repeat a run',
    history: true,
    run: async (h) => {
      const history = await h.history()
      const t = Date.now() - 10_000
      const events: ConveyorEvent[] = []
      for (let n = 0; n < 30; n++) {
        const base = { id: `${h.context.namespace}-${String(n).padStart(2, '0')}`, attempt: 1 }
        const where = { task: n % 2 === 0 ? 'even.task' : 'odd.task', queue: n % 3 === 0 ? 'q3' : 'q' }
        // Pairs share a millisecond: pages must split ties without repeating or skipping a run.
        events.push({
          type: 'task.enqueued',
          ...base,
          ...where,
          at: t + Math.floor(n / 2),
          priority: 0,
          maxAttempts: 1,
          input: `{"n":${n}}`,
        } as ConveyorEvent)
        if (n % 5 === 0)
          events.push({
            type: 'task.started',
            ...base,
            ...where,
            at: t + 100,
            deliveryCount: 1,
            enqueuedAt: t + Math.floor(n / 2),
          } as ConveyorEvent)
      }
      await history.record(events)
      const all: string[] = []
      let cursor: string | undefined
      do {
        const page = await history.list({ limit: 7, ...(cursor ? { cursor } : {}) })
        all.push(...page.runs.map((r) => r.id))
        cursor = page.next
      } while (cursor !== undefined)
      const expected = Array.from({ length: 30 }, (_, n) => `${h.context.namespace}-${String(n).padStart(2, '0')}`)
      expect(all).toEqual(expected.slice().reverse())
      const started = (await history.list({ state: 'started' })).runs.map((r) => r.id)
      expect(started).toEqual([25, 20, 15, 10, 5, 0].map((n) => expected[n]))
      const evenQ3 = (await history.list({ task: 'even.task', queue: 'q3' })).runs.map((r) => r.id)
      expect(evenQ3).toEqual([24, 18, 12, 6, 0].map((n) => expected[n]))
      const window = (await history.list({ since: t + 5, until: t + 7 })).runs.map((r) => r.id)
      expect(window).toEqual([13, 12, 11, 10].map((n) => expected[n]))
      expect((await history.list({ search: `${h.context.namespace}-17` })).runs.map((r) => r.id)).toEqual([
        expected[17],
      ])
      expect((await history.list({ search: 'odd.t' })).runs).toHaveLength(15)
      if (history.searchesInput) {
        expect((await history.list({ search: '"n":23' })).runs.map((r) => r.id)).toEqual([expected[23]])
      }
      expect(await history.count()).toBe(30)
    },
  },
  'history.retention': {
    title: 'history keeps at most maxRuns runs, dropping the oldest, and drops runs past maxAgeMs',
    history: true,
    run: async (h) => {
      const history = await h.history({ maxRuns: 20, maxAgeMs: 60_000 })
      const t = Date.now()
      const enqueued = (n: number, at: number) =>
        ({
          type: 'task.enqueued',
          id: `${h.context.namespace}-${n}`,
          task: 'conformance.history',
          queue: 'q',
          attempt: 1,
          at,
          priority: 0,
          maxAttempts: 1,
        }) as ConveyorEvent
      await history.record([enqueued(-1, t - 120_000)]) // older than maxAgeMs
      await history.record(Array.from({ length: 30 }, (_, n) => enqueued(n, t + n)))
      expect(await history.count()).toBe(20)
      const ids = (await history.list({ limit: 100 })).runs.map((r) => r.id)
      expect(ids).toEqual(Array.from({ length: 20 }, (_, n) => `${h.context.namespace}-${29 - n}`))
      expect(await history.get(`${h.context.namespace}-0`)).toBeUndefined()
    },
  },
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
