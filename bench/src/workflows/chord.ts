/**
 * A chord of 10,000 members, from enqueue until the callback's result is read (issue 16): Conveyor on Redis,
 * Conveyor on RabbitMQ (results and counting in Redis), and Celery 5 with Redis as broker and result backend, in
 * alternating runs on the same servers; medians, ratios, and the callback's run count (must be 1 every time).
 *
 *   npm run bench:chord -w bench -- [--quick] [--members 10000] [--runs 3] [--concurrency 4] [--only <ids>]
 *
 * CPU ms per member: user + system time of the producer and the worker processes (and their children), not the
 * servers', from /proc and process.cpuUsage(): it does not stretch with the load of a shared machine as wall time does.
 *
 * Both sides get the same concurrency and the same prefetch (Celery's default 4 × concurrency). The Celery column is
 * skipped, with a message, when Debian's python3-celery is not installed. Results: bench/results/chord.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { benchEnv } from '../cli/env'
import { machineInfo } from '../report/machine'
import { deleteExchanges, deleteQueues, listByToken } from '../util/amqp'
import { RUN_TOKEN } from '../util/names'
import { deleteKeys, redisClient } from '../util/redis'
import { median, spread } from '../util/stats'
import { type ChordRun, type ChordSystem, celeryChord, conveyorChord } from './chord-systems'

const RESULTS = fileURLToPath(new URL('../../results/chord.json', import.meta.url))
const IDS = ['conveyor-redis', 'conveyor-rabbitmq', 'celery-redis']

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    members: { type: 'string' },
    runs: { type: 'string' },
    concurrency: { type: 'string', default: '4' },
    only: { type: 'string' },
    out: { type: 'string' },
  },
})
const quick = values.quick ?? false
const members = Number(values.members ?? (quick ? 2000 : 10_000))
const runs = Number(values.runs ?? (quick ? 1 : 3))
const concurrency = Number(values.concurrency)
const only = (values.only ?? IDS.join(',')).split(',').map((s) => s.trim())
for (const [name, n] of Object.entries({ members, runs, concurrency })) {
  if (!(Number.isInteger(n) && n > 0)) throw new Error(`[bench] --${name} must be a positive integer`)
}
const unknown = only.filter((id) => !IDS.includes(id))
if (unknown.length > 0) throw new Error(`[bench] --only: unknown ${unknown.join(', ')}; use ${IDS.join(', ')}`)

const env = benchEnv()
const sizes = { concurrency, prefetch: 4 * concurrency }
const redis = redisClient(env.redisUrl, 'cvbench-chord')
const log = (line: string) => process.stderr.write(`${line}\n`)
const systems: ChordSystem[] = []
const skipped: Record<string, string> = {}
for (const id of only) {
  if (id === 'celery-redis') {
    const celery = celeryChord(env, sizes)
    if (typeof celery === 'string') skipped[id] = celery
    else systems.push(celery)
  } else systems.push(conveyorChord(env, id === 'conveyor-redis' ? 'redis' : 'rabbitmq', redis, sizes))
}

const samples = new Map<string, ChordRun[]>(systems.map((s) => [s.id, []]))
const loadAtStart = machineInfo().loadAverage
const date = new Date().toISOString()
try {
  for (const system of systems) {
    log(`starting ${system.id}`)
    await system.start()
  }
  // Alternating: one chord per system per round, so load that comes and goes hits them alike.
  for (let round = 0; round < runs; round++) {
    for (const system of systems) {
      const sample = await system.run(members)
      samples.get(system.id)!.push(sample)
      log(`  ${system.id} run ${round + 1}: ${sample.seconds.toFixed(2)} s, callback runs ${sample.callbacks}`)
    }
  }
} finally {
  for (const system of systems) await system.stop().catch(() => undefined)
  await deleteKeys(redis, RUN_TOKEN)
  const { queues, exchanges } = await listByToken(RUN_TOKEN)
  await deleteQueues(env.amqpUrl, [...new Set([...queues, ...systems.flatMap((s) => s.rabbitQueues)])])
  await deleteExchanges(env.amqpUrl, exchanges)
  redis.disconnect()
}

const machine = machineInfo()
const rows = systems.map((system) => {
  const taken = samples.get(system.id)!
  const seconds = median(taken.map((s) => s.seconds))
  return {
    id: system.id,
    description: system.description,
    seconds,
    membersPerSecond: members / seconds,
    spread: spread(taken.map((s) => s.seconds)),
    cpuMsPerMember: (1000 * median(taken.map((s) => s.cpuSeconds))) / members,
    callbacks: taken.map((s) => s.callbacks),
    correct: taken.every((s) => s.correct),
    samples: taken.map((s) => ({ seconds: s.seconds, cpuSeconds: s.cpuSeconds })),
  }
})
const celery = rows.find((r) => r.id === 'celery-redis')
console.log(
  `\nChord of ${members.toLocaleString('en-US')} members, enqueue → callback result; median of ${runs} alternating run(s), concurrency ${concurrency}, prefetch ${sizes.prefetch}`,
)
console.log(
  `${machine.cpus} × ${machine.cpuModel}, load average ${loadAtStart.map((l) => l.toFixed(1)).join(' ')} at start (a shared machine: timings are noisy)\n`,
)
console.log('| system | median s | members/s | spread | CPU ms / member | callback runs | Celery ÷ this: time, CPU |')
console.log('| --- | ---: | ---: | ---: | ---: | --- | ---: |')
for (const row of rows) {
  const ratio =
    celery && row !== celery
      ? `${(celery.seconds / row.seconds).toFixed(2)}×, ${(celery.cpuMsPerMember / row.cpuMsPerMember).toFixed(2)}×`
      : '–'
  const runsText = `${row.callbacks.join(', ')}${row.correct ? '' : ' (WRONG RESULT)'}`
  console.log(
    `| ${row.description} | ${row.seconds.toFixed(2)} | ${row.membersPerSecond.toFixed(0)} | ${(row.spread * 100).toFixed(0)}% | ${row.cpuMsPerMember.toFixed(2)} | ${runsText} | ${ratio} |`,
  )
}
for (const [id, why] of Object.entries(skipped)) console.log(`| ${id} | ${why} | | | | | |`)
const result = { date, args: process.argv.slice(2), members, runs, sizes, machine, loadAtStart, rows, skipped }
const out = values.out ?? RESULTS
mkdirSync(dirname(out), { recursive: true })
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`)
log(`wrote ${out}`)
const broken = rows.filter((r) => !r.correct || r.callbacks.some((c) => c !== 1))
if (broken.length > 0) {
  console.error(`[bench] callback not run exactly once, or a wrong result: ${broken.map((r) => r.id).join(', ')}`)
  process.exit(1)
}
process.exit(0)
