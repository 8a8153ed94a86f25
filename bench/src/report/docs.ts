import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const DOCS = fileURLToPath(new URL('../../../docs/performance.md', import.meta.url))

const START = '<!-- bench:table:start -->'
const END = '<!-- bench:table:end -->'

/** What the summary above the tables reads from a run's results. */
export interface RunSummary {
  readonly date: string
  readonly quick: boolean
  readonly durationSeconds: number
  readonly machine: {
    readonly cpus: number
    readonly cpuModel: string
    readonly memoryGiB: number
    readonly node: string
    readonly loadAverageAtStart?: readonly number[]
  }
  readonly servers: Readonly<Record<string, string>>
  readonly versions: Readonly<Record<string, string>>
  readonly sizes: { readonly runs: number; readonly slowRuns: number; readonly fixedRuns?: number }
}

/** The lines above the tables: when, where, on what, how many samples. */
export function summaryOf(run: RunSummary): string {
  const { machine, servers, versions, sizes } = run
  const load = machine.loadAverageAtStart ? `, load average ${machine.loadAverageAtStart.join(' / ')} at the start` : ''
  return [
    `Measured ${run.date.slice(0, 16).replace('T', ' ')} UTC${run.quick ? ' (--quick)' : ''} in ${run.durationSeconds} s on ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}${load};`,
    `Redis ${servers.redis ?? '–'}, RabbitMQ ${servers.rabbitmq ?? '–'}; BullMQ ${versions.bullmq}, ioredis ${versions.ioredis}, amqplib ${versions.amqplib}.`,
    `Medians of ${sizes.runs} alternating runs (latency, processes: ${sizes.slowRuns}; memory, crash: ${sizes.fixedRuns ?? sizes.slowRuns}). ↑ higher is better, ↓ lower is better.`,
  ].join('\n')
}

/** Put `summary` and `table` between the bench markers of docs/performance.md. */
export function writeDocsTable(table: string, summary: string): void {
  const docs = readFileSync(DOCS, 'utf8')
  const from = docs.indexOf(START)
  const to = docs.indexOf(END)
  if (from < 0 || to < from) throw new Error(`[bench] ${DOCS} has no ${START} … ${END} markers`)
  writeFileSync(DOCS, `${docs.slice(0, from + START.length)}\n${summary}\n\n${table}\n${docs.slice(to)}`)
}
