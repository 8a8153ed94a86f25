import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type BrokerSuiteOptions, checkBrokerConformance } from './broker-suite'
import type { ConformanceResult } from './define'
import { type MutatedCopy, mutantDocProblems, mutatedCopy, type SourceMutant } from './source-mutants'

/** Options of `runSourceMutants`. */
export interface SourceMutantsOptions<Module> {
  /** Shown in the describe blocks, e.g. `redis`. */
  readonly name: string
  /** The adapter package's root directory (holding `src/`). */
  readonly packageRoot: string
  /** Directories copied for each mutant, e.g. `['src', 'lua']`. */
  readonly dirs: readonly string[]
  /** The module to load from a copy, e.g. `src/index.ts`. */
  readonly entry: string
  /** The module as shipped, for the control run. */
  readonly shipped: Module
  readonly mutants: readonly SourceMutant[]
  /** Suite options for an adapter module (the shipped one or a mutated copy). */
  suiteOptions(module: Module, name: string): BrokerSuiteOptions
  /** A markdown page that must list each mutant with its killers (see `mutantDocProblems`). */
  readonly docs?: { readonly path: string; readonly text: string }
}

const outcome = (r: ConformanceResult) => `${r.id}: ${r.status}${r.error ? ` (${String(r.error).slice(0, 300)})` : ''}`

/**
 * Register the mutant checks with vitest: every killer passes on the shipped adapter (the control), and every
 * mutant — a patched copy of the sources, loaded once before the checks so no transform runs while they time
 * things — fails each test in its `mustFail`.
 */
export function runSourceMutants<Module>(options: SourceMutantsOptions<Module>): void {
  const { name, mutants, docs } = options
  const loaded = new Map<string, { copy: MutatedCopy; module: Module }>()

  if (docs) {
    it(`${docs.path} lists every ${name} mutant with exactly its killers`, () => {
      expect(mutantDocProblems(docs.text, mutants)).toEqual([])
    })
  }

  describe.concurrent(`the conformance suite kills every ${name} mutant`, () => {
    beforeAll(async () => {
      for (const mutant of mutants) {
        const copy = await mutatedCopy(options.packageRoot, options.dirs, mutant)
        loaded.set(mutant.name, { copy, module: await copy.load<Module>(options.entry) })
      }
    }, 120_000)
    afterAll(async () => {
      for (const { copy } of loaded.values()) await copy.dispose()
    })

    for (const id of new Set(mutants.flatMap((m) => m.mustFail))) {
      it(`control: ${id} passes on ${name} as shipped`, async () => {
        const results = await checkBrokerConformance(options.suiteOptions(options.shipped, name), [id])
        expect(results.map(outcome)).toEqual([`${id}: passed`])
      }, 60_000)
    }

    for (const mutant of mutants) {
      it(`kills ${mutant.name}: ${mutant.bug}`, async () => {
        const { module } = loaded.get(mutant.name)!
        const results = await checkBrokerConformance(options.suiteOptions(module, mutant.name), mutant.mustFail)
        expect(results).toHaveLength(mutant.mustFail.length)
        expect(results.filter((r) => r.status !== 'failed').map(outcome)).toEqual([])
      }, 120_000)
    }
  })
}
