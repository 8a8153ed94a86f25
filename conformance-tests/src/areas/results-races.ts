import type { TaskRecord } from '@conveyor/core/adapter'
import { expect } from 'vitest'
import { type ResultsTest, TTL } from '../harness/results-harness'
import { eventually, rejection, sleep, within } from '../harness/wait'
import type { ResultBackendTestId } from '../ids'

type RaceTestId = Extract<
  ResultBackendTestId,
  | 'results.set-just-before-wait'
  | 'results.many-waiters-one-connection'
  | 'results.closing-one-waiter'
  | 'results.expiry-after-replace'
>

/** How the write is staggered against the wait: same tick, next turn, a millisecond or a few later. */
const staggers = [0, -1, 1, 3] as const
const after = (ms: number): Promise<void> =>
  ms === 0 ? Promise.resolve() : ms < 0 ? new Promise((resolve) => setImmediate(resolve)) : sleep(ms)

export const resultsRaceTests: { readonly [K in RaceTestId]: { title: string; run: ResultsTest } } = {
  'results.set-just-before-wait': {
    title: 'a terminal record written while a waiter is subscribing is seen (no gap between read and subscribe)',
    run: async (h) => {
      const backend = await h.backend()
      const runs = Array.from({ length: 24 }, (_, i) => ({
        record: h.record('started'),
        stagger: staggers[i % staggers.length]!,
      }))
      for (const { record } of runs) await backend.set(record, TTL)
      const waited = runs.map(async ({ record, stagger }) => {
        const done: TaskRecord = { ...record, state: 'succeeded', result: record.id }
        const waiting = backend.wait(record.id, { timeoutMs: h.ms(3000) })
        await after(stagger)
        await backend.set(done, TTL)
        expect(await waiting).toEqual(done)
      })
      await within(Promise.all(waited), h.ms(4000), 'waiters racing their writes')
    },
  },
  'results.many-waiters-one-connection': {
    title: 'many waiters on one instance, each on its own run, each get their own record',
    run: async (h) => {
      const backend = await h.backend()
      const records = Array.from({ length: 40 }, (_, i) => h.record('started', { attempt: 1 + (i % 3) }))
      const waiting = records.map((r) => backend.wait(r.id, { timeoutMs: h.ms(5000) }))
      await sleep(h.ms(50))
      const done = records.map((r, i): TaskRecord => ({ ...r, state: i % 2 ? 'succeeded' : 'failed', result: i }))
      // Written out of order and all at once.
      await Promise.all([...done].reverse().map((r) => backend.set(r, TTL)))
      const got = await within(Promise.all(waiting), h.ms(3000), '40 waiters')
      expect(got).toEqual(done)
    },
  },
  'results.closing-one-waiter': {
    title: 'a waiter that gives up (abort, timeout) does not break the others, even on the same run',
    run: async (h) => {
      const backend = await h.backend()
      const shared = h.record('started')
      const other = h.record('started')
      const controller = new AbortController()
      const aborted = rejection(
        backend.wait(shared.id, { timeoutMs: h.ms(5000), signal: controller.signal }),
        'an aborted wait',
      )
      const timedOut = rejection(backend.wait(shared.id, { timeoutMs: h.ms(100) }), 'a wait that times out')
      const kept = backend.wait(shared.id, { timeoutMs: h.ms(5000) })
      const keptOther = backend.wait(other.id, { timeoutMs: h.ms(5000) })
      await sleep(h.ms(20))
      controller.abort(new Error('this caller gave up'))
      await aborted
      expect(await timedOut).toMatchObject({ code: 'CONVEYOR_RESULT_TIMEOUT' })
      const doneShared: TaskRecord = { ...shared, state: 'succeeded', result: 'still wanted' }
      const doneOther: TaskRecord = { ...other, state: 'failed' }
      await backend.set(doneShared, TTL)
      await backend.set(doneOther, TTL)
      expect(await within(kept, h.ms(2000), 'the waiter beside an aborted and a timed-out one')).toEqual(doneShared)
      expect(await within(keptOther, h.ms(2000), 'the waiter on another run')).toEqual(doneOther)
      // And a new waiter on the same instance still works after all that.
      const late = h.record('started')
      const waitingLate = backend.wait(late.id, { timeoutMs: h.ms(5000) })
      await sleep(h.ms(20))
      await backend.set({ ...late, state: 'succeeded' }, TTL)
      expect(await within(waitingLate, h.ms(2000), 'a later waiter')).toMatchObject({ state: 'succeeded' })
    },
  },
  'results.expiry-after-replace': {
    title: 'each write sets the ttl anew: a replaced record lives by the latest ttl, shorter or longer',
    run: async (h) => {
      const backend = await h.backend()
      const shortened = h.record('started')
      const lengthened = h.record('started')
      const ttlMs = h.ms(300)
      await backend.set(shortened, TTL)
      await backend.set({ ...shortened, state: 'succeeded' }, { ttlMs })
      await backend.set(lengthened, { ttlMs })
      await backend.set({ ...lengthened, state: 'succeeded' }, TTL)
      await eventually(
        () => backend.get(shortened.id),
        (r) => r === undefined,
        ttlMs + h.ms(2000),
        'expiry of a record replaced with a shorter ttl',
      )
      await sleep(Math.max(0, ttlMs * 2))
      expect(await backend.get(lengthened.id), 'a record replaced with a longer ttl').toMatchObject({
        state: 'succeeded',
      })
    },
  },
}
