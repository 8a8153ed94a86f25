/**
 * Conveyor side by side with BullMQ and the raw clients, on the same servers, in one run, as ratios (issue 7).
 * `npm run bench -- --help` for the options; `docs/performance.md` for how to read the output.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { connect } from 'amqplib'
import { parseBenchArgs, type ScenarioName, USAGE } from './cli/args'
import { benchEnv } from './cli/env'
import { DOCS, summaryOf, writeDocsTable } from './report/docs'
import { machineInfo, packageVersions } from './report/machine'
import { renderTables } from './report/table'
import { checkTargets, ratios } from './report/targets'
import { chordScenario } from './scenarios/chord'
import { FULL, type Measurement, QUICK, type ScenarioContext, type Sizes } from './scenarios/context'
import { crashScenario } from './scenarios/crash'
import { enqueueScenario } from './scenarios/enqueue'
import { latencyScenario } from './scenarios/latency'
import { memoryScenario } from './scenarios/memory'
import { processScenario } from './scenarios/process'
import { processesScenario } from './scenarios/processes'
import { rssScenario } from './scenarios/rss'
import { pickSystems } from './systems/index'
import type { BenchEnv } from './systems/system'
import { deleteExchanges, deleteQueues, listByToken } from './util/amqp'
import { RUN_TOKEN } from './util/names'
import { enableProfiling } from './util/profiler'
import { deleteKeys, redisClient } from './util/redis'

const RESULTS = fileURLToPath(new URL('../results/latest.json', import.meta.url))

const SCENARIO_RUNNERS: Record<ScenarioName, (ctx: ScenarioContext) => Promise<Measurement[]>> = {
  enqueue: enqueueScenario,
  process: processScenario,
  processes: processesScenario,
  latency: latencyScenario,
  memory: memoryScenario,
  crash: crashScenario,
  rss: rssScenario,
  chord: chordScenario,
}

/** Fail at once, in one line, when a server the picked systems need is not there (never skip silently). */
async function serverVersions(env: BenchEnv, brokers: ReadonlySet<string>): Promise<Record<string, string>> {
  const versions: Record<string, string> = {}
  if (brokers.has('redis')) {
    const redis = redisClient(env.redisUrl, 'cvbench-probe')
    redis.on('error', () => undefined)
    try {
      const info = await redis.info('server')
      versions.redis = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown'
    } catch (error) {
      throw new Error(
        `[bench] Redis at ${env.redisUrl} is not reachable (${(error as Error).message}); start it or set BENCH_REDIS_URL`,
      )
    } finally {
      redis.disconnect()
    }
  }
  if (brokers.has('rabbitmq')) {
    try {
      const connection = await connect(env.amqpUrl, { clientProperties: { connection_name: 'cvbench-probe' } })
      const props = (connection.connection as unknown as { serverProperties?: { version?: string } }).serverProperties
      versions.rabbitmq = props?.version ?? 'unknown'
      await connection.close()
    } catch (error) {
      throw new Error(
        `[bench] RabbitMQ at ${env.amqpUrl} is not reachable (${(error as Error).message}); start it or set BENCH_AMQP_URL`,
      )
    }
  }
  return versions
}

/** Last line of defence: delete anything carrying this run's token that a crashed step left behind. */
async function sweep(env: BenchEnv, brokers: ReadonlySet<string>, log: (line: string) => void) {
  if (brokers.has('redis')) {
    const redis = redisClient(env.redisUrl, 'cvbench-sweep')
    try {
      const left = await deleteKeys(redis, RUN_TOKEN)
      if (left > 0) log(`cleanup: deleted ${left} leftover Redis keys of this run`)
    } finally {
      await redis.quit()
    }
  }
  if (brokers.has('rabbitmq')) {
    const { queues, exchanges } = await listByToken(RUN_TOKEN)
    await deleteQueues(env.amqpUrl, queues)
    await deleteExchanges(env.amqpUrl, exchanges)
    if (queues.length + exchanges.length > 0) {
      log(`cleanup: deleted ${queues.length} queues and ${exchanges.length} exchanges of this run`)
    }
  }
}

/** The checkout's commit (and whether it had local changes), so a result can be tied to the code it measured. */
function gitCommit(): string {
  try {
    const cwd = dirname(RESULTS)
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', '../..'], { cwd, encoding: 'utf8' }).trim()
    return dirty ? `${head} (with local changes)` : head
  } catch {
    return 'unknown'
  }
}

function sizesFor(quick: boolean, runs: number | undefined, jobs: number | undefined): Sizes {
  const base = quick ? QUICK : FULL
  return {
    ...base,
    runs: runs ?? base.runs,
    slowRuns: runs !== undefined ? Math.min(runs, 3) : base.slowRuns,
    fixedRuns: runs !== undefined ? Math.min(runs, 3) : base.fixedRuns,
    enqueueJobs: jobs ?? base.enqueueJobs,
    processJobs: jobs !== undefined ? { 1: Math.max(1, Math.floor(jobs / 4)), 50: jobs } : base.processJobs,
    rssJobs: jobs ?? base.rssJobs,
  }
}

async function main() {
  const args = parseBenchArgs(process.argv.slice(2), RESULTS)
  if (args.help) {
    console.log(USAGE)
    return
  }
  if (args.profile) enableProfiling(dirname(RESULTS))
  const env = benchEnv()
  const systems = pickSystems(args.only)
  const sizes = sizesFor(args.quick, args.runs, args.jobs)
  const log = (line: string) => process.stderr.write(`${line}\n`)
  const brokers = new Set<string>(systems.map((s) => s.broker))
  const servers = await serverVersions(env, brokers)
  const ctx: ScenarioContext = { env, sizes, quick: args.quick, systems, named: args.only, unavailable: new Map(), log }
  const date = new Date().toISOString()
  const loadAtStart = machineInfo().loadAverage
  const started = performance.now()
  log(
    `bench ${RUN_TOKEN}: ${args.scenarios.join(', ')} × ${systems.map((s) => s.id).join(', ')}${args.quick ? ' (quick)' : ''}`,
  )
  const measurements: Measurement[] = []
  // A scenario that fails (the chord's Celery comparator once never got its callback) fails the bench, but only
  // after what the others measured is written: a full run takes 15 minutes of a quiet machine.
  const failures: string[] = []
  try {
    for (const scenario of args.scenarios) {
      log(`${scenario}:`)
      try {
        measurements.push(...(await SCENARIO_RUNNERS[scenario](ctx)))
      } catch (error) {
        failures.push(`${scenario}: ${(error as Error).message}`)
        log(`${scenario} failed: ${(error as Error).message}`)
      }
    }
  } finally {
    await sweep(env, brokers, log).catch((error: unknown) => log(`cleanup failed: ${(error as Error).message}`))
  }
  const seconds = Math.round((performance.now() - started) / 1000)
  const checks = checkTargets(measurements)
  const table = renderTables(measurements, checks)
  const machine = machineInfo()
  const versions = packageVersions()
  const summary = summaryOf({
    date,
    quick: args.quick,
    durationSeconds: seconds,
    machine: { ...machine, loadAverageAtStart: loadAtStart },
    servers,
    versions,
    sizes,
  })
  console.log(`\n${summary}\n\n${table}`)
  const result = {
    date,
    quick: args.quick,
    args: process.argv.slice(2),
    durationSeconds: seconds,
    machine: { ...machine, loadAverageAtStart: loadAtStart, loadAverageAtEnd: machine.loadAverage },
    commit: gitCommit(),
    servers,
    versions,
    sizes,
    systems: systems.map(({ id, broker, family, description }) => ({ id, broker, family, description })),
    unavailable: Object.fromEntries(ctx.unavailable),
    failures,
    measurements,
    ratios: ratios(measurements),
    targets: checks.map((c) => ({
      system: c.target.system,
      scenario: c.target.scenario,
      case: c.case,
      metric: c.target.metric,
      target: c.target.label,
      actual: c.actual,
      met: c.met ?? null,
      verdict: c.verdict,
    })),
  }
  mkdirSync(dirname(args.out), { recursive: true })
  writeFileSync(args.out, `${JSON.stringify(result, null, 2)}\n`)
  log(`wrote ${args.out}`)
  if (args.writeDocs) {
    writeDocsTable(table, summary)
    log(`updated ${DOCS}`)
  }
  if (failures.length > 0) throw new Error(`[bench] ${failures.length} scenario(s) failed: ${failures.join('; ')}`)
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error((error as Error).message ?? error)
    process.exit(1)
  },
)
