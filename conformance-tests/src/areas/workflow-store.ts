import type { CountOptions, GroupCount, ResultBackend, WorkflowStore } from '@conveyor/core/adapter'
import { expect } from 'vitest'
import { ConformanceFailure } from '../harness/failure'
import type { ResultsHarness, ResultsTest } from '../harness/results-harness'
import type { ResultBackendTestId } from '../ids'

type WorkflowTestId = Extract<ResultBackendTestId, `results.workflow-${string}`>

/** A workflow test: runs only on backends claiming `workflowCounting: 'atomic'` (except the capability check). */
export interface WorkflowStoreTest {
  readonly title: string
  /** True when the test needs `workflows` (skipped with a reason on backends that do not claim it). */
  readonly needsCounting: boolean
  readonly run: ResultsTest
}

/** Why a backend skips the counting tests, or undefined when it claims them. */
export function countingSkipReason(backend: ResultBackend): string | undefined {
  return backend.capabilities?.workflowCounting === 'atomic'
    ? undefined
    : `claims workflowCounting: '${backend.capabilities?.workflowCounting ?? 'none'}', so workflows refuse to start on it and its counting is not tested`
}

const TTL_MS = 60_000
const options = (total: number, { failFast = true }: { failFast?: boolean } = {}): CountOptions => ({
  total,
  failFast,
  ttlMs: TTL_MS,
})
const ok = (value: unknown) => JSON.stringify({ ok: true, value })
const bad = (message: string) => JSON.stringify({ ok: false, state: 'failed', error: { name: 'Error', message } })

async function store(h: ResultsHarness): Promise<WorkflowStore> {
  const backend = await h.backend()
  if (backend.workflows === undefined)
    throw new ConformanceFailure("claims workflowCounting 'atomic' without workflows")
  return backend.workflows
}

/** Count members of one group from several store instances at once; resolve every reply. */
async function countAll(stores: WorkflowStore[], workflow: string, group: string, indexes: number[], total: number) {
  return Promise.all(
    indexes.map((index, i) =>
      stores[i % stores.length]!.countMember(
        workflow,
        group,
        { index, outcome: ok(index), failed: false },
        options(total),
      ),
    ),
  )
}

const settlers = (counts: GroupCount[]) => counts.filter((c) => c.settledNow).length

export const workflowStoreTests: { readonly [K in WorkflowTestId]: WorkflowStoreTest } = {
  'results.workflow-capability': {
    title: "capabilities.workflowCounting 'atomic' exactly when `workflows` is implemented",
    needsCounting: false,
    run: async (h) => {
      const backend = await h.backend()
      const atomic = backend.capabilities?.workflowCounting === 'atomic'
      expect(backend.workflows !== undefined, 'workflows present').toBe(atomic)
    },
  },
  'results.workflow-plan': {
    title: 'a stored plan is read back by another instance; an unknown one is undefined',
    needsCounting: true,
    run: async (h) => {
      const [writer, reader] = [await store(h), await store(h)]
      const id = `${h.context.namespace}-wf`
      const plan = JSON.stringify({ v: 1, root: { t: 'task', n: 0, task: 'x', input: 'ünï 🚀', b: 1 } })
      await writer.putPlan(id, plan, TTL_MS)
      expect(await reader.getPlan(id)).toBe(plan)
      expect(await reader.getPlan(`${id}-missing`)).toBeUndefined()
    },
  },
  'results.workflow-count-once': {
    title: 'a member counted twice (redelivered) counts once; the last settles the group once; pending until release',
    needsCounting: true,
    run: async (h) => {
      const s = await store(h)
      const id = `${h.context.namespace}-wf`
      const first = await s.countMember(id, '1', { index: 0, outcome: ok('a'), failed: false }, options(2))
      expect(first).toMatchObject({ counted: true, done: 1, settledNow: false, pending: false, revoked: false })
      const again = await s.countMember(id, '1', { index: 0, outcome: ok('other'), failed: false }, options(2))
      expect(again).toMatchObject({ counted: false, done: 1, settledNow: false, pending: false })
      const last = await s.countMember(id, '1', { index: 1, outcome: ok('b'), failed: false }, options(2))
      expect(last).toMatchObject({ counted: true, done: 2, settled: 'succeeded', settledNow: true, pending: true })
      const redelivered = await s.countMember(id, '1', { index: 1, outcome: ok('b'), failed: false }, options(2))
      expect(redelivered).toMatchObject({ counted: false, settled: 'succeeded', settledNow: false, pending: true })
      expect(await s.outcomes(id, '1', 3)).toEqual([ok('a'), ok('b'), undefined])
      await s.release(id, '1')
      const after = await s.countMember(id, '1', { index: 1, outcome: ok('b'), failed: false }, options(2))
      expect(after).toMatchObject({ counted: false, settledNow: false, pending: false })
      expect(await s.outcomes(id, '2', 1)).toEqual([undefined])
    },
  },
  'results.workflow-failure-policy': {
    title: 'fail-fast settles failed at the first failed member; collect waits for the last and settles succeeded',
    needsCounting: true,
    run: async (h) => {
      const s = await store(h)
      const id = `${h.context.namespace}-wf`
      const failed = await s.countMember(
        id,
        'ff',
        { index: 1, outcome: bad('x'), failed: true },
        options(3, { failFast: true }),
      )
      expect(failed).toMatchObject({ counted: true, failed: 1, settled: 'failed', settledNow: true, pending: true })
      const later = await s.countMember(
        id,
        'ff',
        { index: 0, outcome: ok(0), failed: false },
        options(3, { failFast: true }),
      )
      expect(later).toMatchObject({ settled: 'failed', settledNow: false })
      const c1 = await s.countMember(
        id,
        'c',
        { index: 0, outcome: bad('y'), failed: true },
        options(2, { failFast: false }),
      )
      expect(c1).toMatchObject({ failed: 1, settledNow: false, pending: false })
      const c2 = await s.countMember(
        id,
        'c',
        { index: 1, outcome: ok(1), failed: false },
        options(2, { failFast: false }),
      )
      expect(c2).toMatchObject({ done: 2, failed: 1, settled: 'succeeded', settledNow: true })
    },
  },
  'results.workflow-last-two-race': {
    title: 'the last two members counted at the same moment from two instances settle the group exactly once',
    needsCounting: true,
    run: async (h) => {
      const stores = [await store(h), await store(h)]
      for (let round = 0; round < 40; round++) {
        const id = `${h.context.namespace}-wf-${round}`
        await countAll(stores, id, 'g', [0, 1, 2], 5)
        const counts = await countAll(stores, id, 'g', [3, 4], 5)
        if (settlers(counts) !== 1) throw new ConformanceFailure(`round ${round}: ${settlers(counts)} settlers`)
      }
    },
  },
  'results.workflow-many-members': {
    title: '5,000 members counted concurrently from four instances, 250 of them twice: one settler, every member once',
    needsCounting: true,
    run: async (h) => {
      const stores = [await store(h), await store(h), await store(h), await store(h)]
      const id = `${h.context.namespace}-wf`
      const n = 5000
      const indexes = Array.from({ length: n }, (_, i) => i)
      const counts = await countAll(stores, id, 'g', [...indexes, ...indexes.slice(0, 250)], n)
      expect(settlers(counts)).toBe(1)
      expect(counts.filter((c) => c.counted)).toHaveLength(n)
      const outcomes = await stores[0]!.outcomes(id, 'g', n)
      expect(outcomes.every((o, i) => o === ok(i))).toBe(true)
    },
  },
  'results.workflow-admit': {
    title: 'admit: the first publish of a node wins, its redelivery runs, another publish is a duplicate; revoke wins',
    needsCounting: true,
    run: async (h) => {
      const [a, b] = [await store(h), await store(h)]
      const id = `${h.context.namespace}-wf`
      expect(await a.admit(id, `${id}.1`, undefined, TTL_MS)).toBe('run')
      const [first, second] = await Promise.all([
        a.admit(id, `${id}.2`, 'nonce-a', TTL_MS),
        b.admit(id, `${id}.2`, 'nonce-b', TTL_MS),
      ])
      expect([first, second].sort()).toEqual(['duplicate', 'run'])
      const winner = first === 'run' ? 'nonce-a' : 'nonce-b'
      expect(await b.admit(id, `${id}.2`, winner, TTL_MS)).toBe('run')
      await a.revoke(id, TTL_MS)
      expect(await b.admit(id, `${id}.3`, undefined, TTL_MS)).toBe('revoked')
      expect(await b.admit(id, `${id}.2`, winner, TTL_MS)).toBe('revoked')
      const count = await b.countMember(id, 'g', { index: 0, outcome: ok(0), failed: false }, options(1))
      expect(count.revoked).toBe(true)
    },
  },
}
