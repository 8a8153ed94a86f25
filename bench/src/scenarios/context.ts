import type { BenchEnv, BenchSystem, BrokerKind, SystemInstance } from '../systems/system'
import { NotApplicableError, UnavailableError } from '../systems/system'
import { median } from '../util/stats'
import { within } from '../util/time'

/** Sizes of one bench run; `--quick` shrinks them to about 2 minutes in all (the CLI processes start slowest). */
export interface Sizes {
  /** Samples per system per case (alternating runs); the median is reported. */
  readonly runs: number
  /** Fewer samples for the slow scenarios (latency, memory, processes). */
  readonly slowRuns: number
  /**
   * Samples of what barely moves with load: memory (bytes per job) and crash recovery (set by leases and lock
   * timeouts).
   */
  readonly fixedRuns: number
  readonly enqueueJobs: number
  readonly processJobs: { readonly 1: number; readonly 50: number }
  readonly latencySeconds: number
  readonly latencyRate: number
  readonly latencyConcurrency: number
  readonly memoryJobs: number
  readonly rssJobs: number
  /** Backlog of the multi-process scenario (CPU-bound jobs). */
  readonly processesJobs: number
}

export const QUICK: Sizes = {
  runs: 1,
  slowRuns: 1,
  fixedRuns: 1,
  enqueueJobs: 5_000,
  processJobs: { 1: 1_500, 50: 5_000 },
  latencySeconds: 2,
  latencyRate: 1_000,
  latencyConcurrency: 50,
  memoryJobs: 10_000,
  rssJobs: 200_000,
  processesJobs: 3_000,
}

export const FULL: Sizes = {
  runs: 3,
  slowRuns: 3,
  fixedRuns: 1,
  enqueueJobs: 20_000,
  // 20,000 drained in 0.15 s on Redis at concurrency 50: too short a window for on ÷ off ratios to settle (they
  // swung 0.79–1.02 between runs of the same code); 50,000 keeps Redis runs near 0.4 s.
  processJobs: { 1: 5_000, 50: 50_000 },
  latencySeconds: 4,
  latencyRate: 1_000,
  latencyConcurrency: 50,
  memoryJobs: 100_000,
  rssJobs: 1_000_000,
  processesJobs: 12_000,
}

/** One measured quantity of one system in one case, with every sample and their median. */
export interface Measurement {
  /** `enqueue`, `process`, `latency`, `memory`, `crash`, `rss`. */
  readonly scenario: string
  /** What exactly ran, e.g. `single, 64 in flight`. */
  readonly case: string
  /** e.g. `jobs/s`, `p99`, `bytes/job`. */
  readonly metric: string
  readonly unit: string
  readonly higherIsBetter: boolean
  readonly system: string
  readonly samples: number[]
  median: number
  /** Why there is no number (n/a, error). */
  note?: string
}

export interface ScenarioContext {
  readonly env: BenchEnv
  readonly sizes: Sizes
  /** `--quick`: small sizes (scenarios that run their own sizes, like the chord, follow it). */
  readonly quick: boolean
  readonly systems: readonly BenchSystem[]
  /** What `--only` named (ids and groups); empty without `--only`. */
  readonly named: readonly string[]
  /** System id → why it cannot run; filled as systems turn out to be unavailable. */
  readonly unavailable: Map<string, string>
  log(line: string): void
}

export interface MetricSpec {
  readonly metric: string
  readonly unit: string
  readonly higherIsBetter: boolean
  /** Measured only for systems on these brokers (absent: every system). */
  readonly brokers?: readonly BrokerKind[]
}

/**
 * Run `sample` `runs` times for every system, alternating the order each round so that drift on the shared machine
 * (other engineers' test runs) spreads over all systems instead of hitting one. Every sample gets a fresh instance.
 * A system that throws is reported with the error instead of stopping the bench.
 */
export async function alternate(
  ctx: ScenarioContext,
  scenario: string,
  caseName: string,
  systemsAsked: readonly BenchSystem[],
  runs: number,
  metrics: readonly MetricSpec[],
  sample: (instance: SystemInstance, system: BenchSystem) => Promise<Record<string, number>>,
): Promise<Measurement[]> {
  const out = new Map<string, Measurement>()
  // Systems that exist for one scenario's target (events on, confirmAcks off) sit out the others.
  const systems = systemsAsked.filter((s) => s.scenarios === undefined || s.scenarios.includes(scenario))
  for (const system of systems) {
    for (const spec of metrics) {
      if (spec.brokers !== undefined && !spec.brokers.includes(system.broker)) continue
      out.set(`${system.id}/${spec.metric}`, {
        scenario,
        case: caseName,
        ...spec,
        system: system.id,
        samples: [],
        median: Number.NaN,
      })
    }
  }
  const note = (system: BenchSystem, text: string) => {
    for (const spec of metrics) {
      const m = out.get(`${system.id}/${spec.metric}`)
      if (m) m.note = text
    }
  }
  const failed = new Set<string>()
  for (let round = 0; round < runs; round++) {
    const order = systems.map((_, i) => systems[(i + round) % systems.length]!)
    for (const system of order) {
      const reason = ctx.unavailable.get(system.id)
      if (reason !== undefined) {
        note(system, `n/a: ${reason}`)
        continue
      }
      if (failed.has(system.id)) continue
      let instance: SystemInstance | undefined
      try {
        instance = await system.create(ctx.env)
        const values = await sample(instance, system)
        for (const [metric, value] of Object.entries(values)) out.get(`${system.id}/${metric}`)?.samples.push(value)
        ctx.log(
          `  ${scenario} ${caseName} ${system.id} #${round + 1}: ${Object.entries(values)
            .map(([k, v]) => `${k}=${formatNumber(v)}`)
            .join(' ')}`,
        )
      } catch (error) {
        if (error instanceof NotApplicableError) {
          failed.add(system.id)
          note(system, `n/a: ${error.message}`)
        } else if (error instanceof UnavailableError) {
          ctx.unavailable.set(system.id, error.message.replace(/^\[bench\] /, ''))
          note(system, `n/a: ${ctx.unavailable.get(system.id)}`)
        } else {
          failed.add(system.id)
          const message = (error as Error).message ?? String(error)
          note(system, `error: ${message}`)
          ctx.log(`  ${scenario} ${caseName} ${system.id} failed: ${message}`)
        }
      } finally {
        await (instance ? within(instance.close(), 30_000, `closing ${system.id}`) : undefined)?.catch(
          (error: unknown) => {
            ctx.log(`  ${system.id}: cleanup failed: ${(error as Error).message}`)
          },
        )
      }
    }
  }
  for (const m of out.values()) m.median = median(m.samples)
  return [...out.values()]
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return 'n/a'
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US')
  if (Math.abs(value) >= 10) return value.toFixed(1)
  return value.toFixed(2)
}

/** Jobs for one run: small payloads, `t` stamped at enqueue time by the latency scenario only. */
export function jobs(n: number): { i: number; t: number }[] {
  return Array.from({ length: n }, (_, i) => ({ i, t: 0 }))
}
