import type { Measurement } from '../scenarios/context'
import { median } from '../util/stats'

/** A goal from issues 7, 13 and 18, checked against the medians. */
export interface Target {
  readonly scenario: string
  /** Matches cases starting with this text (all cases of the scenario when empty). */
  readonly casePrefix: string
  /** And, when given, ending with this text (e.g. `concurrency 50`). */
  readonly caseSuffix?: string
  readonly metric: string
  readonly system: string
  /** `ratio`: system ÷ `versus` must be ≥ value. `max` / `min`: the system's own median ≤ / ≥ value. */
  readonly kind: 'ratio' | 'max' | 'min'
  readonly versus?: string
  readonly value: number
  readonly label: string
}

export const TARGETS: readonly Target[] = [
  {
    scenario: 'enqueue',
    casePrefix: 'single',
    metric: 'jobs/s',
    system: 'conveyor-redis',
    kind: 'ratio',
    versus: 'bullmq',
    value: 2.5,
    label: '≥ 2.5× BullMQ',
  },
  {
    scenario: 'enqueue',
    casePrefix: 'bulk',
    metric: 'jobs/s',
    system: 'conveyor-redis',
    kind: 'ratio',
    versus: 'bullmq',
    value: 2.5,
    label: '≥ 2.5× BullMQ',
  },
  // Issue 18: against the broker's own limit at concurrency 50; at concurrency 1 (round-trip bound) against BullMQ.
  {
    scenario: 'process',
    casePrefix: '',
    caseSuffix: 'concurrency 1',
    metric: 'jobs/s',
    system: 'conveyor-redis',
    kind: 'ratio',
    versus: 'bullmq',
    value: 2,
    label: '≥ 2× BullMQ',
  },
  // The same bar for the prefetch option the issue allows beside the defaults (reported: the target is the defaults').
  {
    scenario: 'process',
    casePrefix: '',
    caseSuffix: 'concurrency 1',
    metric: 'jobs/s',
    system: 'conveyor-redis-prefetch',
    kind: 'ratio',
    versus: 'bullmq',
    value: 2,
    label: '≥ 2× BullMQ with prefetch (reported)',
  },
  {
    scenario: 'process',
    casePrefix: '',
    caseSuffix: 'concurrency 50',
    metric: 'jobs/s',
    system: 'conveyor-redis',
    kind: 'ratio',
    versus: 'raw-redis',
    value: 0.85,
    label: '≥ 0.85× raw',
  },
  {
    scenario: 'processes',
    casePrefix: '',
    metric: 'jobs/s',
    system: 'conveyor-redis-P2',
    kind: 'ratio',
    versus: 'conveyor-redis-P1',
    value: 1.6,
    label: '-P 2 ≥ 1.6× -P 1',
  },
  // Issue 13: cross-process events cost at most 15% of Redis processing at concurrency 50; RabbitMQ's ratio reported.
  {
    scenario: 'process',
    casePrefix: '',
    caseSuffix: 'concurrency 50',
    metric: 'jobs/s',
    system: 'conveyor-redis-events',
    kind: 'ratio',
    versus: 'conveyor-redis',
    value: 0.85,
    label: 'events on ≥ 0.85× off',
  },
  {
    scenario: 'process',
    casePrefix: '',
    caseSuffix: 'concurrency 50',
    metric: 'jobs/s',
    system: 'conveyor-rabbitmq-events',
    kind: 'ratio',
    versus: 'conveyor-rabbitmq',
    value: 0.85,
    label: 'events on ≥ 0.85× off (reported: the target is Redis’s)',
  },
  // Issue 14: what OpenTelemetry tracing costs processing (SDK recording every span, no-op exporter), both brokers,
  // both concurrencies. No target was set; 0.8 is the line the docs hold it to.
  ...(['conveyor-redis', 'conveyor-rabbitmq'] as const).map((system) => ({
    scenario: 'process',
    casePrefix: '',
    metric: 'jobs/s',
    system: `${system}-traced`,
    kind: 'ratio' as const,
    versus: system,
    value: 0.8,
    label: 'tracing on ≥ 0.8× off (reported)',
  })),
  {
    scenario: 'process',
    casePrefix: '',
    metric: 'jobs/s',
    system: 'conveyor-redis-metrics',
    kind: 'ratio',
    versus: 'conveyor-redis',
    value: 0.9,
    label: 'metrics on ≥ 0.9× off (reported)',
  },
  // Issues 5 and 18: ≥ 0.9× raw amqplib doing the same work in every case: each Conveyor configuration against raw
  // amqplib on the same kind of queue, sending the same message (Conveyor's envelope and properties). The bare job
  // (`raw-amqp`, 20 bytes, two properties) stays a reported column of the plain-queue table: the distance between
  // the two columns is what the message costs RabbitMQ, not what Conveyor's client adds.
  ...(['enqueue', 'process'] as const).flatMap((scenario) => [
    {
      scenario,
      casePrefix: '',
      metric: 'jobs/s',
      system: 'conveyor-rabbitmq',
      kind: 'ratio' as const,
      versus: 'raw-amqp-same',
      value: 0.9,
      label: '≥ 0.9× raw',
    },
    {
      scenario,
      casePrefix: '',
      metric: 'jobs/s',
      system: 'conveyor-rabbitmq-fifo',
      kind: 'ratio' as const,
      versus: 'raw-amqp-same-fifo',
      value: 0.9,
      label: '≥ 0.9× raw',
    },
  ]),
  // Issue 18: the faster mode offered where a guarantee costs (ack confirmation), measured against the same baselines.
  ...(
    [
      ['conveyor-rabbitmq-unconfirmed', 'raw-amqp-same'],
      ['conveyor-rabbitmq-fifo-unconfirmed', 'raw-amqp-same-fifo'],
    ] as const
  ).map(([system, versus]) => ({
    scenario: 'process',
    casePrefix: '',
    metric: 'jobs/s',
    system,
    kind: 'ratio' as const,
    versus,
    value: 0.9,
    label: '≥ 0.9× raw',
  })),
  {
    scenario: 'latency',
    casePrefix: '',
    metric: 'p99',
    system: 'conveyor-redis',
    kind: 'max',
    value: 5,
    label: 'p99 ≤ 5 ms',
  },
  {
    scenario: 'latency',
    casePrefix: '',
    metric: 'p99',
    system: 'conveyor-rabbitmq',
    kind: 'max',
    value: 5,
    label: 'p99 ≤ 5 ms',
  },
  {
    scenario: 'memory',
    casePrefix: '',
    metric: 'bytes/job (keys)',
    system: 'conveyor-redis',
    kind: 'max',
    value: 100,
    label: '≤ 100 B/job',
  },
  {
    scenario: 'crash',
    casePrefix: '',
    metric: 'recovery',
    system: 'conveyor-redis',
    kind: 'max',
    value: 10,
    label: '≤ 10 s',
  },
  {
    scenario: 'rss',
    casePrefix: '',
    metric: 'RSS growth',
    system: 'conveyor-redis',
    kind: 'max',
    value: 20,
    label: '< 20 MB',
  },
]

export interface TargetCheck {
  readonly target: Target
  readonly case: string
  /** The ratio or the absolute median that was compared. */
  readonly actual: number
  readonly met: boolean | undefined
  /** e.g. `met`, `missed by 38%`, `n/a`. */
  readonly verdict: string
}

/** Every target against the medians of this run; `met` is undefined when a side has no number. */
export function checkTargets(measurements: readonly Measurement[]): TargetCheck[] {
  const find = (scenario: string, caseName: string, metric: string, system: string) =>
    measurements.find(
      (m) => m.scenario === scenario && m.case === caseName && m.metric === metric && m.system === system,
    )
  const checks: TargetCheck[] = []
  for (const target of TARGETS) {
    const cases = new Set(
      measurements
        .filter((m) => m.scenario === target.scenario && m.system === target.system && m.metric === target.metric)
        .filter((m) => m.case.startsWith(target.casePrefix) && m.case.endsWith(target.caseSuffix ?? ''))
        .map((m) => m.case),
    )
    for (const caseName of cases) {
      const mine = find(target.scenario, caseName, target.metric, target.system)?.median ?? Number.NaN
      const theirs =
        target.kind === 'ratio'
          ? (find(target.scenario, caseName, target.metric, target.versus!)?.median ?? Number.NaN)
          : 1
      const actual = target.kind === 'ratio' ? mine / theirs : mine
      if (!Number.isFinite(actual)) {
        checks.push({ target, case: caseName, actual, met: undefined, verdict: 'n/a' })
        continue
      }
      const met = target.kind === 'max' ? actual <= target.value : actual >= target.value
      checks.push({ target, case: caseName, actual, met, verdict: met ? 'met' : shortfall(target, actual) })
    }
  }
  return checks
}

/** How far off, relative to the line: "38% short" of a floor, "40% over" or "4.2× the limit" for a ceiling. */
function shortfall(target: Target, actual: number): string {
  if (target.kind !== 'max') return `${Math.round((1 - actual / target.value) * 100)}% short`
  const over = actual / target.value
  if (over >= 2) return `${over.toFixed(1)}× the limit`
  return over < 1.1 ? `${((over - 1) * 100).toFixed(1)}% over` : `${Math.round((over - 1) * 100)}% over`
}

/** Conveyor ÷ each comparator, from the medians and round by round (paired samples cancel slow drift better). */
export function ratios(measurements: readonly Measurement[]) {
  const pairs = [
    ['conveyor-redis', 'bullmq'],
    ['conveyor-redis', 'raw-redis'],
    ['conveyor-rabbitmq', 'raw-amqp-same'],
    ['conveyor-rabbitmq-fifo', 'raw-amqp'],
    ['conveyor-rabbitmq-fifo', 'raw-amqp-same-fifo'],
    ['conveyor-rabbitmq-unconfirmed', 'raw-amqp-same'],
    ['conveyor-rabbitmq-fifo-unconfirmed', 'raw-amqp'],
    ['conveyor-rabbitmq-fifo-unconfirmed', 'raw-amqp-same-fifo'],
    ['conveyor-redis-P2', 'conveyor-redis-P1'],
    ['conveyor-redis-traced', 'conveyor-redis'],
    ['conveyor-redis-metrics', 'conveyor-redis'],
    ['conveyor-redis-prefetch', 'conveyor-redis'],
    ['conveyor-redis-prefetch', 'bullmq'],
    ['conveyor-rabbitmq-traced', 'conveyor-rabbitmq'],
  ] as const
  const out = []
  for (const mine of measurements) {
    for (const [system, versus] of pairs) {
      if (mine.system !== system) continue
      const theirs = measurements.find(
        (m) => m.system === versus && m.scenario === mine.scenario && m.case === mine.case && m.metric === mine.metric,
      )
      if (!theirs || mine.samples.length === 0 || theirs.samples.length === 0) continue
      const n = Math.min(mine.samples.length, theirs.samples.length)
      const paired = Array.from({ length: n }, (_, i) => mine.samples[i]! / theirs.samples[i]!)
      out.push({
        system,
        versus,
        scenario: mine.scenario,
        case: mine.case,
        metric: mine.metric,
        ofMedians: mine.median / theirs.median,
        pairedMedian: median(paired),
        paired,
      })
    }
  }
  return out
}
