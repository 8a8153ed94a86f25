import type { BrokerCapabilities } from '@conveyor/core/adapter'
import { describe, it } from 'vitest'
import { Harness } from './harness/harness'
import { within } from './harness/wait'
import type { BrokerTestId } from './ids'
import type { BrokerConformanceOptions } from './options'

/** One broker conformance test. */
export interface BrokerTest {
  /** What the test proves, as a sentence fragment after the id. */
  readonly title: string
  /**
   * Undefined when the broker claims what the test needs; otherwise why the test does not apply, phrased after the
   * adapter's name (`claims priorityLevels: 1, so priorities are not tested`).
   */
  readonly requires?: (capabilities: BrokerCapabilities, harness: Harness) => string | undefined
  /** Unscaled budget for the test body (default 15 s). */
  readonly timeoutMs?: number
  run(harness: Harness): Promise<void>
}

/** An area's tests, keyed by id: the type makes every id of the area have exactly one test. */
export type BrokerTestTable<Id extends string> = { readonly [K in Id]: BrokerTest }

/** Outcome of one test run outside vitest's reporting (mutant checks, programmatic runs). */
export interface ConformanceResult {
  readonly id: string
  readonly status: 'passed' | 'failed' | 'skipped'
  /** Why it was skipped. */
  readonly reason?: string
  readonly error?: unknown
  readonly durationMs: number
}

const DEFAULT_TIMEOUT_MS = 15_000

/** Run one test on a fresh harness, deciding skips from the options and the broker's capabilities. */
export async function runBrokerTest(
  id: BrokerTestId,
  test: BrokerTest,
  options: BrokerConformanceOptions<BrokerTestId>,
): Promise<ConformanceResult> {
  const started = Date.now()
  const done = (status: ConformanceResult['status'], extra: Partial<ConformanceResult> = {}): ConformanceResult => ({
    id,
    status,
    durationMs: Date.now() - started,
    ...extra,
  })
  const skipped = options.skip?.[id]
  if (skipped !== undefined) return done('skipped', { reason: `skipped by ${options.name}: ${skipped}` })
  const harness = new Harness(options as BrokerConformanceOptions<string>, id)
  try {
    const reason = test.requires?.(await harness.capabilities(), harness)
    if (reason !== undefined) return done('skipped', { reason: `${options.name} ${reason}` })
    const budget = harness.ms(test.timeoutMs ?? DEFAULT_TIMEOUT_MS)
    await within(test.run(harness), budget, `[${id}] test body`)
    return done('passed')
  } catch (error) {
    return done('failed', { error })
  } finally {
    await harness.dispose().catch(() => {})
  }
}

/** Register an area's tests with vitest, in id order, under one describe block. */
export function registerBrokerTests<Id extends BrokerTestId>(
  area: string,
  ids: readonly Id[],
  table: BrokerTestTable<Id>,
  options: BrokerConformanceOptions<BrokerTestId>,
): void {
  const scale = options.timeScale ?? 1
  describe(`${options.name} conformance: ${area}`, () => {
    for (const id of ids) {
      const test = table[id]
      // The vitest budget leaves room for cleanup after the body's own budget ran out.
      const timeout = Math.round((test.timeoutMs ?? DEFAULT_TIMEOUT_MS) * scale) + 10_000
      it(
        `[${id}] ${test.title}`,
        async (ctx) => {
          const result = await runBrokerTest(id, test, options)
          // Registered and skipped from inside, so the reason shows in every report.
          if (result.status === 'skipped') ctx.skip(result.reason)
          if (result.status === 'failed') throw result.error
        },
        timeout,
      )
    }
  })
}

/** Run tests programmatically, one after another, and return each outcome (never throws for a failed test). */
export async function checkBrokerTests(
  tests: Readonly<Partial<Record<BrokerTestId, BrokerTest>>>,
  ids: readonly BrokerTestId[],
  options: BrokerConformanceOptions<BrokerTestId>,
): Promise<ConformanceResult[]> {
  const results: ConformanceResult[] = []
  for (const id of ids) {
    const test = tests[id]
    if (test !== undefined) results.push(await runBrokerTest(id, test, options))
  }
  return results
}
