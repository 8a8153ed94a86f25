import type { ConveyorEvent } from '@conveyor/core/adapter'
import { expect } from 'vitest'
import type { EventsTest } from './events-harness'
import type { EventStreamTestId } from './events-suite'

type HistoryTestId = Extract<EventStreamTestId, `history.${string}`>

/** The task history half of the events suite: runs folded from events, listed, filtered, paged and bounded. */
export const historyTests: { readonly [K in HistoryTestId]: EventsTest } = {
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
