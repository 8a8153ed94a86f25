import { ackTests } from './areas/ack'
import { badInputTests } from './areas/bad-input'
import { batchTests } from './areas/batch'
import { concurrencyTests } from './areas/concurrency'
import { crashTests } from './areas/crash'
import { deadLetterTests } from './areas/dead-letter'
import { delayTests } from './areas/delay'
import { envelopeTests } from './areas/envelope'
import { lifecycleTests } from './areas/lifecycle'
import { pathsTests } from './areas/paths'
import { priorityTests } from './areas/priority'
import { retryTests } from './areas/retry'
import { settleTests } from './areas/settle'
import { timingTests } from './areas/timing'
import { type BrokerTest, type ConformanceResult, checkBrokerTests, registerBrokerTests } from './define'
import { type BrokerArea, type BrokerTestId, brokerTestIds, brokerTestIdsByArea } from './ids'
import type { BrokerConformanceOptions, NamedConfiguration } from './options'

/** Options of `runBrokerConformance` and of each `run…Tests`: `skip` is keyed by the suite's test ids. */
export type BrokerSuiteOptions = BrokerConformanceOptions<BrokerTestId>

/** Every broker test, by id. */
export const brokerTests: { readonly [K in BrokerTestId]: BrokerTest } = {
  ...envelopeTests,
  ...ackTests,
  ...retryTests,
  ...deadLetterTests,
  ...delayTests,
  ...priorityTests,
  ...crashTests,
  ...concurrencyTests,
  ...lifecycleTests,
  ...badInputTests,
  ...settleTests,
  ...pathsTests,
  ...batchTests,
  ...timingTests,
}

const areaTitles: Record<BrokerArea, string> = {
  envelope: 'envelope round trip',
  ack: 'ack',
  retry: 'retry',
  deadLetter: 'dead letters',
  delay: 'delays',
  priority: 'priorities',
  crash: 'crash recovery',
  concurrency: 'concurrency',
  lifecycle: 'lifecycle',
  badInput: 'bad input',
  settle: 'when promises settle',
  paths: 'delivery counts and ordering after every path',
  batch: 'batch paths',
  timing: 'timing',
}

const area = (name: BrokerArea) => (options: BrokerSuiteOptions) =>
  registerBrokerTests(areaTitles[name], brokerTestIdsByArea[name], brokerTests, options)

/** Publish → consume preserves the envelope exactly (unicode, nested JSON, 1 MB). */
export const runEnvelopeTests = area('envelope')
/** Ack removes; release gives back. */
export const runAckTests = area('ack')
/** retry(delay): attempt numbers, never early, bounded lateness, core's retry policy end to end. */
export const runRetryTests = area('retry')
/** The dead-letter store: contents, order, list/replay/purge, core's dead-letter decisions. */
export const runDeadLetterTests = area('deadLetter')
/** Delayed delivery (when claimed). */
export const runDelayTests = area('delay')
/** Priorities (when claimed) and FIFO within a level. */
export const runPriorityTests = area('priority')
/** Crashes (destroy): redelivery, delivery counts that survive restarts, leases, poison messages. */
export const runCrashTests = area('crash')
/** Competing consumers and prefetch. */
export const runConcurrencyTests = area('concurrency')
/** close/destroy, cancel, declare, purge, stats. */
export const runLifecycleTests = area('lifecycle')
/** Malformed bytes, non-envelopes, unknown tasks, prototype pollution. */
export const runBadInputTests = area('badInput')

/** publish/ack/retry/deadLetter/release resolve only once the store holds the write. */
export const runSettleTests = area('settle')
/** Delivery counts and priorities after release, reclaim, retry and replay; moves interrupted by a crash. */
export const runPathsTests = area('paths')
/** publishMany keeps every semantic of publish. */
export const runBatchTests = area('batch')
/** Delays and retries never early and within the lateness the adapter declares, over many delay lengths. */
export const runTimingTests = area('timing')

/**
 * The whole broker suite, every area in order. The adapter's own test file is three lines:
 *
 * ```ts
 * import { runBrokerConformance } from '@conveyor/conformance'
 * import { createRedisBroker } from '../src'
 * runBrokerConformance({ name: 'redis', createBroker: ({ namespace }) => createRedisBroker({ url, prefix: namespace }) })
 * ```
 */
export function runBrokerConformance(options: BrokerSuiteOptions): void {
  for (const name of Object.keys(brokerTestIdsByArea) as BrokerArea[]) area(name)(options)
  for (const configuration of options.configurations ?? []) registerConfiguration(options, configuration)
}

/** Register what a named configuration runs (whole areas and single tests), each under its area's title. */
function registerConfiguration(options: BrokerSuiteOptions, configuration: NamedConfiguration<BrokerTestId>): void {
  const { run, name, ...hooks } = configuration
  const merged: BrokerSuiteOptions = { ...options, ...hooks, name: `${options.name} [${name}]`, configurations: [] }
  for (const areaName of Object.keys(brokerTestIdsByArea) as BrokerArea[]) {
    const ids: readonly BrokerTestId[] = brokerTestIdsByArea[areaName]
    const chosen = run.includes(areaName) ? ids : ids.filter((id) => run.includes(id))
    if (chosen.length > 0) registerBrokerTests(areaTitles[areaName], chosen, brokerTests, merged)
  }
  const known = new Set<string>([...Object.keys(brokerTestIdsByArea), ...brokerTestIds])
  const unknown = run.filter((entry) => !known.has(entry))
  if (unknown.length > 0) {
    throw new Error(`[conveyor] [conformance] configuration "${name}" names no area or test: ${unknown.join(', ')}`)
  }
}

/**
 * Run broker tests without registering them with vitest and return each outcome: for tools (the mutant checks, a
 * custom runner) that need to know *which* tests failed. Assertions still use vitest's `expect`, so call it from
 * inside a running test or a vitest-driven script.
 */
export function checkBrokerConformance(
  options: BrokerSuiteOptions,
  ids: readonly BrokerTestId[] = brokerTestIds,
): Promise<ConformanceResult[]> {
  return checkBrokerTests(brokerTests, ids, options)
}
