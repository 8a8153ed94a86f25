import type { TaskRecord } from '@conveyor/core/adapter'
import { describe, expect, it } from 'vitest'
import { resultsRaceTests } from './areas/results-races'
import { countingSkipReason, workflowStoreTests } from './areas/workflow-store'
import { ConformanceFailure } from './harness/failure'
import { ResultsHarness, type ResultsTest, TTL } from './harness/results-harness'
import { eventually, rejection, sleep, within } from './harness/wait'
import { type ResultBackendTestId, resultBackendTestIds } from './ids'
import type { ResultBackendConformanceOptions } from './options'

/** Options of `runResultBackendConformance`: `skip` is keyed by the result backend test ids. */
export type ResultBackendSuiteOptions = ResultBackendConformanceOptions<ResultBackendTestId>

/** Resolve with how long `promise` took to settle after `from`, and its value. */
async function timed<T>(promise: Promise<T>, from: () => number) {
  const value = await promise
  return { value, ms: Date.now() - from() }
}

const tests: {
  readonly [K in ResultBackendTestId]: { title: string; run: ResultsTest; needsCounting?: boolean }
} = {
  ...workflowStoreTests,
  'results.set-get': {
    title: 'get returns the record that was set, field for field',
    run: async (h) => {
      const backend = await h.backend()
      const record = h.record('succeeded', {
        attempt: 2,
        result: { ok: true, list: [1, 'two', null], text: 'ünïcødé 🚀', nested: { deep: { deeper: [{}] } } },
        startedAt: Date.now() - 5,
        finishedAt: Date.now(),
      })
      await backend.set(record, TTL)
      expect(await backend.get(record.id)).toEqual(record)
      const failed = h.record('failed', {
        error: { name: 'TypeError', message: 'nope', stack: 'TypeError: nope\n  at x', code: 'E_X' },
      })
      await backend.set(failed, TTL)
      expect(await backend.get(failed.id)).toEqual(failed)
    },
  },
  'results.get-missing': {
    title: 'get of an unknown id resolves undefined',
    run: async (h) => {
      expect(await (await h.backend()).get(`${h.context.namespace}-never-set`)).toBeUndefined()
    },
  },
  'results.transitions': {
    title: 'each state transition replaces the record: pending → started → retrying → started → succeeded',
    run: async (h) => {
      const backend = await h.backend()
      const first = h.record('pending')
      const steps: TaskRecord[] = [
        first,
        { ...first, state: 'started', startedAt: Date.now() },
        { ...first, state: 'retrying', error: { name: 'Error', message: 'flaky' }, retryAt: Date.now() + 1000 },
        { ...first, state: 'started', attempt: 2, startedAt: Date.now() },
        { ...first, state: 'succeeded', attempt: 2, result: 42, finishedAt: Date.now() },
      ]
      for (const step of steps) {
        await backend.set({ ...step, updatedAt: Date.now() }, TTL)
        expect(await backend.get(first.id)).toMatchObject({ state: step.state, attempt: step.attempt })
      }
      const last = await backend.get(first.id)
      expect(last).toMatchObject({ state: 'succeeded', result: 42 })
      expect(last?.error).toBeUndefined()
    },
  },
  'results.delete': {
    title: 'delete removes the record; deleting an unknown id resolves',
    run: async (h) => {
      const backend = await h.backend()
      const record = h.record('succeeded')
      await backend.set(record, TTL)
      await backend.delete(record.id)
      expect(await backend.get(record.id)).toBeUndefined()
      await backend.delete(`${h.context.namespace}-never-set`)
    },
  },
  'results.wait-resolves-on-completion': {
    title: 'wait resolves as soon as the record turns terminal (woken, not polled)',
    run: async (h) => {
      const backend = await h.backend()
      const record = h.record('started')
      await backend.set(record, TTL)
      let setAt = 0
      const waiting = timed(backend.wait(record.id, { timeoutMs: h.ms(5000) }), () => setAt)
      await sleep(h.ms(100))
      setAt = Date.now()
      const done: TaskRecord = { ...record, state: 'succeeded', result: 'ok', finishedAt: setAt }
      await backend.set(done, TTL)
      const { value, ms } = await waiting
      expect(value).toEqual(done)
      expect(ms, 'ms from set(succeeded) to wait resolving').toBeLessThanOrEqual(h.ms(250))
    },
  },
  'results.wait-already-terminal': {
    title: 'wait on a record that is already terminal resolves at once',
    run: async (h) => {
      const backend = await h.backend()
      const record = h.record('dead-lettered', { error: { name: 'Error', message: 'gone' } })
      await backend.set(record, TTL)
      const started = Date.now()
      const { value, ms } = await timed(backend.wait(record.id, { timeoutMs: h.ms(5000) }), () => started)
      expect(value).toEqual(record)
      expect(ms).toBeLessThanOrEqual(h.ms(250))
    },
  },
  'results.wait-ignores-non-terminal': {
    title: 'non-terminal states (started, retrying) do not resolve wait; a terminal one does',
    run: async (h) => {
      const backend = await h.backend()
      const record = h.record('pending')
      await backend.set(record, TTL)
      let resolved = false
      const waiting = backend.wait(record.id, { timeoutMs: h.ms(5000) }).then((r) => {
        resolved = true
        return r
      })
      await backend.set({ ...record, state: 'started' }, TTL)
      await backend.set({ ...record, state: 'retrying', retryAt: Date.now() }, TTL)
      await sleep(h.ms(300))
      if (resolved) throw new ConformanceFailure('wait resolved on a non-terminal state')
      await backend.set({ ...record, state: 'failed', error: { name: 'Error', message: 'x' } }, TTL)
      expect(await within(waiting, h.ms(1000), 'wait after failed')).toMatchObject({ state: 'failed' })
    },
  },
  'results.wait-timeout': {
    title: 'wait rejects with ResultTimeoutError after timeoutMs, not before',
    run: async (h) => {
      const backend = await h.backend()
      const timeoutMs = h.ms(250)
      const started = Date.now()
      const error = await rejection(backend.wait(h.record('pending').id, { timeoutMs }), 'wait on a missing record')
      const took = Date.now() - started
      expect(error).toMatchObject({ code: 'CONVEYOR_RESULT_TIMEOUT' })
      expect(took).toBeGreaterThanOrEqual(timeoutMs - 5)
      expect(took).toBeLessThanOrEqual(timeoutMs + h.ms(1000))
    },
  },
  'results.wait-abort': {
    title: 'wait rejects promptly when its signal aborts',
    run: async (h) => {
      const backend = await h.backend()
      const controller = new AbortController()
      const waiting = rejection(
        backend.wait(h.record('pending').id, { timeoutMs: h.ms(10_000), signal: controller.signal }),
        'an aborted wait',
      )
      await sleep(h.ms(50))
      const abortedAt = Date.now()
      controller.abort(new Error('caller gave up'))
      await waiting
      expect(Date.now() - abortedAt).toBeLessThanOrEqual(h.ms(500))
    },
  },
  'results.concurrent-waiters': {
    title: 'many concurrent waiters on one id all resolve; waiters on other ids do not',
    run: async (h) => {
      const backend = await h.backend()
      const record = h.record('started')
      const other = h.record('started')
      const controller = new AbortController()
      const waiters = Array.from({ length: 25 }, () => backend.wait(record.id, { timeoutMs: h.ms(5000) }))
      let otherResolved = false
      const otherWaiter = backend
        .wait(other.id, { timeoutMs: h.ms(10_000), signal: controller.signal })
        .then(() => {
          otherResolved = true
        })
        .catch(() => {})
      await sleep(h.ms(50))
      const done: TaskRecord = { ...record, state: 'succeeded', result: [1, 2] }
      await backend.set(done, TTL)
      const results = await within(Promise.all(waiters), h.ms(2000), '25 waiters')
      for (const r of results) expect(r).toEqual(done)
      expect(otherResolved).toBe(false)
      controller.abort()
      await otherWaiter
    },
  },
  'results.cross-instance-wait': {
    title: 'a waiter on one instance is woken by a set on another instance (another process)',
    run: async (h) => {
      const waiter = await h.backend()
      const writer = await h.backend()
      const record = h.record('started')
      await writer.set(record, TTL)
      let setAt = 0
      const waiting = timed(waiter.wait(record.id, { timeoutMs: h.ms(5000) }), () => setAt)
      await sleep(h.ms(100))
      setAt = Date.now()
      const done: TaskRecord = { ...record, state: 'succeeded', result: 'from elsewhere' }
      await writer.set(done, TTL)
      const { value, ms } = await waiting
      expect(value).toEqual(done)
      expect(ms).toBeLessThanOrEqual(h.ms(250))
      expect(await waiter.get(record.id)).toEqual(done)
    },
  },
  ...resultsRaceTests,
  'results.expiry': {
    title: 'a record is gone after its ttl',
    run: async (h) => {
      const backend = await h.backend()
      const record = h.record('succeeded', { result: 'short-lived' })
      const ttlMs = h.ms(300)
      await backend.set(record, { ttlMs })
      expect(await backend.get(record.id)).toEqual(record)
      await eventually(
        () => backend.get(record.id),
        (r) => r === undefined,
        ttlMs + h.ms(2000),
        'record expiry',
      )
    },
  },
}

/**
 * The result backend suite: state transitions, get/delete, wait without polling (already terminal, timeout, abort,
 * many waiters, across instances), expiry; and workflow counting (`results.workflow-*`: plans, members counted once,
 * one settler under races and 10,000 members, admission of duplicate publishes) where the backend claims it.
 */
export function runResultBackendConformance(options: ResultBackendSuiteOptions): void {
  describe(`${options.name} conformance: result backend`, () => {
    for (const id of resultBackendTestIds) {
      const test = tests[id]
      it(
        `[${id}] ${test.title}`,
        async (ctx) => {
          const reason = options.skip?.[id]
          if (reason !== undefined) ctx.skip(`skipped by ${options.name}: ${reason}`)
          const h = new ResultsHarness(options)
          try {
            const why = test.needsCounting ? countingSkipReason(await h.backend()) : undefined
            if (why !== undefined) ctx.skip(`${options.name} ${why}`)
            await test.run(h)
          } finally {
            await h.dispose()
          }
        },
        Math.round(15_000 * (options.timeScale ?? 1)),
      )
    }
  })
}
