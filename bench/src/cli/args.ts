import { parseArgs } from 'node:util'

export const SCENARIOS = ['enqueue', 'process', 'processes', 'latency', 'memory', 'crash', 'chord', 'rss'] as const
export type ScenarioName = (typeof SCENARIOS)[number]

export interface BenchArgs {
  readonly quick: boolean
  readonly only: string[]
  readonly scenarios: ScenarioName[]
  readonly runs: number | undefined
  readonly jobs: number | undefined
  readonly out: string
  readonly writeDocs: boolean
  readonly profile: boolean
  readonly help: boolean
}

export const USAGE = `npm run bench -- [options]

  --quick              small sizes, one run each, no crash scenario: about 2 minutes
  --only <list>        systems: conveyor-redis, bullmq, raw-redis, conveyor-rabbitmq, raw-amqp-same,
                       conveyor-rabbitmq-fifo, raw-amqp, conveyor-memory; enqueue and process only:
                       raw-amqp-same-fifo; process-only variants: conveyor-redis-events,
                       conveyor-rabbitmq-events, conveyor-rabbitmq-unconfirmed, conveyor-rabbitmq-fifo-unconfirmed,
                       conveyor-redis-traced, conveyor-rabbitmq-traced, conveyor-redis-metrics,
                       conveyor-redis-prefetch;
                       or a group: redis, rabbitmq, memory, conveyor, raw (comma-separated)
  --scenario <list>    enqueue, process, processes (conveyor worker -P 1 vs -P 2, Redis), latency, memory,
                       crash, chord (10,000-member chord beside Celery; 2,000 with --quick; its own table,
                       also npm run bench:chord), rss (rss is opt-in, long);
                       default: all but rss (and but crash with --quick)
  --runs <n>           samples per system for the fast scenarios (default 3; latency and processes 3, memory and
                       crash 1; with --runs n: min(n, 3) each)
  --jobs <n>           N for enqueue and for the concurrency-50 backlog (c=1 uses N/4); rss: total jobs
  --out <file>         results JSON (default bench/results/latest.json, the committed full run; a partial run
                       — --quick, --only, --scenario, --runs or --jobs — writes bench/results/partial.json)
  --write-docs         put the table into docs/performance.md between its bench markers
  --profile            CPU-profile the measured window of every Conveyor sample into bench/results/*.cpuprofile
                       (summarise: npx tsx bench/src/tools/cpu-top.ts <file>)
  -h, --help

Env: BENCH_REDIS_URL (redis://127.0.0.1:6379), BENCH_AMQP_URL (amqp://guest:guest@127.0.0.1:5672)`

const list = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)

function positive(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!(Number.isInteger(n) && n > 0)) throw new Error(`[bench] --${name} must be a positive integer, got "${value}"`)
  return n
}

/**
 * `defaultOut` is where a full run's results go (committed beside docs/performance.md); a partial run's go to
 * `partial.json` beside it unless `--out` says otherwise, so iterating on one system does not replace them.
 */
export function parseBenchArgs(argv: readonly string[], defaultOut: string): BenchArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      scenario: { type: 'string' },
      runs: { type: 'string' },
      jobs: { type: 'string' },
      out: { type: 'string' },
      'write-docs': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  })
  const quick = values.quick ?? false
  const asked = list(values.scenario)
  const unknown = asked.filter((s) => !(SCENARIOS as readonly string[]).includes(s))
  if (unknown.length > 0)
    throw new Error(`[bench] --scenario: unknown ${unknown.join(', ')}; use ${SCENARIOS.join(', ')}`)
  const scenarios =
    asked.length > 0 ? (asked as ScenarioName[]) : SCENARIOS.filter((s) => s !== 'rss' && !(quick && s === 'crash'))
  const partial = quick || [values.only, values.scenario, values.runs, values.jobs].some((v) => v !== undefined)
  const partialOut = defaultOut.replace(/[^/\\]*$/, 'partial.json')
  return {
    quick,
    only: list(values.only),
    scenarios,
    runs: positive('runs', values.runs),
    jobs: positive('jobs', values.jobs),
    out: values.out ?? (partial ? partialOut : defaultOut),
    writeDocs: values['write-docs'] ?? false,
    profile: values.profile ?? false,
    help: values.help ?? false,
  }
}
