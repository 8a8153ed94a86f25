import { type BrokerSuiteOptions, type BrokerTestId, checkBrokerConformance } from '@conveyor/conformance'
import type { Broker } from '@conveyor/core'
import { createMemoryBroker, createMemoryStore, type MemoryStore } from '@conveyor/core/adapter'
import { perNamespace } from '@conveyor/test-support'
import { describe, expect, it } from 'vitest'
import { mutants } from './index'
import { LEASE_MS } from './mutant'

// Proof that the suite can fail: each mutant is a memory broker with one deliberate bug, and the tests named in its
// `mustFail` are run against it programmatically; every one of them must fail. The control run shows the same tests
// pass on the unmutated broker, so the failures come from the bugs, not from the harness.

function suiteOptions(name: string, create: (store: MemoryStore) => Broker): BrokerSuiteOptions {
  const stores = perNamespace(createMemoryStore)
  return {
    name,
    createBroker: ({ namespace }) => create(stores.get(namespace)),
    inspect: ({ namespace }) => ({
      ready: async (queue) => stores.get(namespace).stats(queue).ready,
      deadLetters: async (queue) => structuredClone(stores.get(namespace).deadLetters(queue)),
      close: async () => {},
    }),
    cleanup: stores.drop,
  }
}

const describeOutcome = (r: { id: string; status: string; reason?: string; error?: unknown }) =>
  `${r.id}: ${r.status}${r.reason ? ` (${r.reason})` : ''}${r.error ? ` (${String(r.error)})` : ''}`

describe('the conformance suite rejects broken brokers', () => {
  it('has at least six mutants, each with tests that must catch it', () => {
    expect(mutants.length).toBeGreaterThanOrEqual(6)
    for (const mutant of mutants) expect(mutant.mustFail.length, mutant.name).toBeGreaterThan(0)
  })

  it('control: the unmutated memory broker passes every test a mutant must fail', async () => {
    const ids = [...new Set(mutants.flatMap((m) => m.mustFail))] as BrokerTestId[]
    const results = await checkBrokerConformance(
      suiteOptions('memory', (store) => createMemoryBroker({ store, leaseMs: LEASE_MS })),
      ids,
    )
    expect(results.filter((r) => r.status !== 'passed').map(describeOutcome)).toEqual([])
    expect(results).toHaveLength(ids.length)
  }, 120_000)
})

// The mutants are independent (a store per namespace each) and mostly wait on timers: run them side by side.
describe.concurrent('each mutant fails the tests written to catch it', () => {
  for (const mutant of mutants) {
    it(`fails ${mutant.name}: ${mutant.bug}`, async () => {
      const results = await checkBrokerConformance(suiteOptions(mutant.name, mutant.create), mutant.mustFail)
      expect(results).toHaveLength(mutant.mustFail.length)
      expect(results.filter((r) => r.status !== 'failed').map(describeOutcome)).toEqual([])
    }, 120_000)
  }
})
