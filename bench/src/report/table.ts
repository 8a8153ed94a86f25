import { formatNumber, type Measurement } from '../scenarios/context'
import type { TargetCheck } from './targets'

interface Group {
  readonly title: string
  readonly conveyor: string
  /** Columns compared against, with the ratio header. */
  readonly others: readonly { readonly id: string; readonly ratio: string }[]
  /** Only the rows the first column has a number for (a system measured in some scenarios only). */
  readonly onlyItsRows?: boolean
}

/** Plain queues beside raw amqplib twice: with the bare job, and with Conveyor's message (what the targets use). */
const PLAIN_QUEUE_BASELINES: Group['others'] = [
  { id: 'raw-amqp', ratio: 'Conveyor/raw (bare job)' },
  { id: 'raw-amqp-same-fifo', ratio: 'Conveyor/raw (same message)' },
]

const GROUPS: readonly Group[] = [
  {
    title: 'Redis',
    conveyor: 'conveyor-redis',
    others: [
      { id: 'bullmq', ratio: 'Conveyor/BullMQ' },
      { id: 'raw-redis', ratio: 'Conveyor/raw' },
    ],
  },
  {
    title: 'RabbitMQ, adapter defaults: classic queue with x-max-priority 10',
    conveyor: 'conveyor-rabbitmq',
    others: [{ id: 'raw-amqp-same', ratio: 'Conveyor/raw (same queue and message)' }],
  },
  {
    title: 'RabbitMQ, plain classic queue (priorityLevels: 1)',
    conveyor: 'conveyor-rabbitmq-fifo',
    others: PLAIN_QUEUE_BASELINES,
  },
  {
    title: 'RabbitMQ, `confirmAcks: false` (acks resolve once written), default queue',
    conveyor: 'conveyor-rabbitmq-unconfirmed',
    others: [{ id: 'raw-amqp-same', ratio: 'Conveyor/raw (same queue and message)' }],
    onlyItsRows: true,
  },
  {
    title: 'RabbitMQ, `confirmAcks: false`, plain queue (priorityLevels: 1)',
    conveyor: 'conveyor-rabbitmq-fifo-unconfirmed',
    others: PLAIN_QUEUE_BASELINES,
    onlyItsRows: true,
  },
  {
    title: 'Redis, worker processes (`conveyor worker -P`)',
    conveyor: 'conveyor-redis-P2',
    others: [{ id: 'conveyor-redis-P1', ratio: '-P 2 / -P 1' }],
  },
  // Issue 18: what the worker's prefetch option buys, beside the default and BullMQ (the concurrency-1 target).
  {
    title: 'Redis, worker prefetch 2 × concurrency (an option; conveyor-redis-prefetch)',
    conveyor: 'conveyor-redis-prefetch',
    others: [
      { id: 'conveyor-redis', ratio: 'prefetch ÷ default' },
      { id: 'bullmq', ratio: 'prefetch ÷ BullMQ' },
    ],
    onlyItsRows: true,
  },
  // Issue 13: what publishing task events costs, on ÷ off in the same run (alternating samples).
  {
    title: 'Events on vs off, Redis (conveyor-redis-events ÷ conveyor-redis)',
    conveyor: 'conveyor-redis-events',
    others: [{ id: 'conveyor-redis', ratio: 'on ÷ off' }],
    onlyItsRows: true,
  },
  {
    title: 'Events on vs off, RabbitMQ (conveyor-rabbitmq-events ÷ conveyor-rabbitmq)',
    conveyor: 'conveyor-rabbitmq-events',
    others: [{ id: 'conveyor-rabbitmq', ratio: 'on ÷ off' }],
    onlyItsRows: true,
  },
  { title: 'Reference: core alone (memory broker, no I/O)', conveyor: 'conveyor-memory', others: [] },
]

const rowKey = (m: Measurement) => `${m.scenario}\u0000${m.case}\u0000${m.metric}`

function cell(m: Measurement | undefined): string {
  if (!m) return '–'
  if (Number.isFinite(m.median)) return formatNumber(m.median)
  return m.note?.startsWith('n/a') ? 'n/a' : 'error'
}

function ratio(a: Measurement | undefined, b: Measurement | undefined): string {
  if (!a || !b || !Number.isFinite(a.median) || !Number.isFinite(b.median) || b.median === 0) return '–'
  return `${(a.median / b.median).toFixed(2)}×`
}

/** One Markdown table per broker: medians per system, the ratios, and the targets of issue 7 with a verdict. */
export function renderTables(measurements: readonly Measurement[], checks: readonly TargetCheck[]): string {
  const out: string[] = []
  for (const group of GROUPS) {
    const ids = [group.conveyor, ...group.others.map((o) => o.id)]
    const mine = measurements.filter((m) => ids.includes(m.system))
    if (mine.every((m) => m.samples.length === 0 && m.note === undefined)) continue
    const rows = [...new Set(mine.filter((m) => !group.onlyItsRows || m.system === group.conveyor).map(rowKey))]
    if (rows.length === 0) continue
    const header = ['scenario', 'case', 'metric', ...ids, ...group.others.map((o) => o.ratio)]
    if (group.others.length > 0) header.push('target')
    out.push(`### ${group.title}`, '', `| ${header.join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`)
    for (const key of rows) {
      const [scenario, caseName, metric] = key.split('\u0000') as [string, string, string]
      const of = (id: string) => mine.find((m) => rowKey(m) === key && m.system === id)
      const conveyor = of(group.conveyor)
      const sample = conveyor ?? mine.find((m) => rowKey(m) === key)!
      const unit = sample.unit === sample.metric ? sample.unit : `${sample.metric} (${sample.unit})`
      const cells = [
        scenario,
        caseName,
        `${unit}${sample.higherIsBetter ? ' ↑' : ' ↓'}`,
        ...ids.map((id) => cell(of(id))),
        ...group.others.map((o) => ratio(conveyor, of(o.id))),
      ]
      if (group.others.length > 0) {
        const verdicts = checks
          .filter(
            (c) =>
              c.target.system === group.conveyor &&
              c.target.scenario === scenario &&
              c.case === caseName &&
              c.target.metric === metric,
          )
          .map((c) => `${c.target.label}: ${c.met === undefined ? 'n/a' : c.met ? '✅' : `❌ ${c.verdict}`}`)
        cells.push(verdicts.join('; ') || '')
      }
      out.push(`| ${cells.join(' | ')} |`)
    }
    out.push('')
  }
  out.push(...targetTable(checks))
  const notes = [
    ...new Set(measurements.filter((m) => m.note !== undefined).map((m) => `- ${m.system}, ${m.scenario}: ${m.note}`)),
  ]
  if (notes.length > 0) out.push('Notes:', '', ...notes, '')
  return out.join('\n')
}

/** Every target of this run in one list (including those of systems without a table of their own, like events). */
function targetTable(checks: readonly TargetCheck[]): string[] {
  if (checks.length === 0) return []
  const rows = checks.map((c) => {
    const t = c.target
    const what = t.kind === 'ratio' ? `${t.system} ÷ ${t.versus}` : t.system
    const measured = Number.isFinite(c.actual)
      ? t.kind === 'ratio'
        ? `${c.actual.toFixed(2)}×`
        : formatNumber(c.actual)
      : '–'
    const verdict = c.met === undefined ? 'n/a' : c.met ? '✅ met' : `❌ ${c.verdict}`
    return `| ${t.scenario} | ${c.case} | ${t.metric} | ${what} | ${t.label} | ${measured} | ${verdict} |`
  })
  return [
    '### Targets',
    '',
    '| scenario | case | metric | compared | target | measured | verdict |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ]
}
