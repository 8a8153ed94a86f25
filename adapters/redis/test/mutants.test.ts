import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { type BrokerSuiteOptions, checkBrokerConformance, mutantDocProblems, mutatedCopy } from '@conveyor/conformance'
import { describe, expect, it } from 'vitest'
import { createRedisBroker } from '../src/index'
import { deletePrefix, REDIS_URL, rawInspector, rawRedis } from './helpers'
import { redisMutants } from './mutants/index'

// Proof that the suite catches real bugs in this adapter: each mutant is a copy of the adapter's sources with one
// planted bug; the tests named in its `mustFail` must all fail against it, and pass against the adapter as shipped.

const packageRoot = fileURLToPath(new URL('..', import.meta.url))

function suiteOptions(name: string, create: typeof createRedisBroker): BrokerSuiteOptions {
  return {
    name,
    createBroker: ({ namespace }) => create({ url: REDIS_URL, prefix: namespace, leaseMs: 1000, logger: false }),
    inspect: async ({ namespace }) => {
      const raw = await rawRedis()
      return rawInspector(raw, namespace, async () => void raw.disconnect())
    },
    cleanup: async ({ namespace }) => {
      const raw = await rawRedis()
      await deletePrefix(raw, namespace)
      raw.disconnect()
    },
  }
}

const outcome = (r: { id: string; status: string; error?: unknown }) =>
  `${r.id}: ${r.status}${r.error ? ` (${String(r.error).slice(0, 300)})` : ''}`

describe('redis mutants are listed with their killers in docs/conformance-mutants.md', () => {
  it('lists each mutant with exactly the tests that kill it', () => {
    const docs = readFileSync(new URL('../../../docs/conformance-mutants.md', import.meta.url), 'utf8')
    expect(mutantDocProblems(docs, redisMutants)).toEqual([])
  })
})

describe.concurrent('the conformance suite kills every redis mutant', () => {
  // The control: every killer passes on the adapter as shipped, so the failures below come from the bugs.
  for (const id of new Set(redisMutants.flatMap((m) => m.mustFail))) {
    it(`control: ${id} passes on the adapter as shipped`, async () => {
      const results = await checkBrokerConformance(suiteOptions('redis', createRedisBroker), [id])
      expect(results.map(outcome)).toEqual([`${id}: passed`])
    }, 60_000)
  }

  for (const mutant of redisMutants) {
    it(`kills ${mutant.name}: ${mutant.bug}`, async () => {
      const copy = await mutatedCopy(packageRoot, ['src', 'lua'], mutant)
      try {
        const mutated = await copy.load<typeof import('../src/index')>('src/index.ts')
        const results = await checkBrokerConformance(
          suiteOptions(mutant.name, mutated.createRedisBroker),
          mutant.mustFail,
        )
        expect(results).toHaveLength(mutant.mustFail.length)
        expect(results.filter((r) => r.status !== 'failed').map(outcome)).toEqual([])
      } finally {
        await copy.dispose()
      }
    }, 120_000)
  }
})
