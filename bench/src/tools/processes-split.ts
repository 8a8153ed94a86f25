/**
 * What `conveyor worker -P <n>` does with a backlog (issue 18), in measures that do not need a quiet machine: against a
 * private redis-server (a free port in 12000–22000, stopped at the end), start the real CLI with the bench's
 * CPU-bound app (`children/cli-app-probe.ts`), enqueue a backlog once it is ready, and print per worker process the
 * jobs it finished and when it started and stopped finishing them, and per process (supervisor, Redis, each child,
 * this one) the CPU time per job read from /proc. Balanced counts with overlapping times mean the children shared the
 * backlog; CPU per job says what each process costs whatever the machine's load.
 *
 *   npx tsx --conditions=conveyor-source bench/src/tools/processes-split.ts [processes=2] [jobs=12000]
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createApp } from '@conveyor/core'
import { createRedisBroker } from '@conveyor/redis'
import { Redis } from 'ioredis'
import { sleep } from '../util/time'

const processes = Number(process.argv[2] ?? 2)
const n = Number(process.argv[3] ?? 12_000)
const BIN = fileURLToPath(new URL('../../../packages/cli/bin/conveyor.js', import.meta.url))
const APP = fileURLToPath(new URL('../children/cli-app-probe.ts', import.meta.url))
const BENCH_DIR = fileURLToPath(new URL('../..', import.meta.url))
const port = 12000 + Math.floor(Math.random() * 10_000)
const healthPort = 12000 + Math.floor(Math.random() * 10_000)
const dir = mkdtempSync(join(tmpdir(), 'cv-processes-split-'))
const server = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir], {
  stdio: 'ignore',
})
const url = `redis://127.0.0.1:${port}`
const prefix = `split${Date.now()}`
const admin = new Redis(url, { lazyConnect: true })

/** User + system CPU of a process so far, in clock ticks (10 ms); 0 once it is gone. */
function ticks(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return 0
  }
}

/** Calls per command so far (`INFO commandstats`). */
async function commands(): Promise<Map<string, number>> {
  const calls = new Map<string, number>()
  for (const match of (await admin.info('commandstats')).matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) {
    if (match[1] !== 'info' && match[1] !== 'hset' && match[1] !== 'hgetall') calls.set(match[1]!, Number(match[2]))
  }
  return calls
}

const cli = spawn(
  process.execPath,
  [BIN, 'worker', '--app', APP, '-P', String(processes), '-c', '10', '--health-port', String(healthPort)],
  {
    cwd: BENCH_DIR,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, BENCH_PREFIX: prefix, BENCH_REDIS_URL: url },
  },
)
try {
  await sleep(400)
  await admin.connect()
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${healthPort}/readyz`).then(
      (r) => r.ok,
      () => false,
    )
    if (ok) break
    await sleep(100)
  }
  await sleep(300)
  // Every process that loaded the app wrote its pid: the supervisor (it loads the module too) and the children.
  const pids = Object.keys(await admin.hgetall(`${prefix}:probe`)).map(Number)
  const watched = [server.pid!, ...pids]
  const before = watched.map(ticks)
  const commandsBefore = await commands()
  const self = process.cpuUsage()
  const broker = createRedisBroker({ url, prefix, logger: false })
  const app = createApp({ broker, results: false, logger: false, events: false, defaults: { queue: 'q' } })
  const task = app.task('bench.cpu', async () => undefined)
  const t0 = Date.now()
  const jobs = Array.from({ length: n }, (_, i) => ({ i }))
  for (let i = 0; i < n; i += 1000) await task.enqueueMany(jobs.slice(i, i + 1000))
  for (;;) {
    const s = await broker.stats('q')
    if (s.ready + s.inFlight === 0) break
    await sleep(20)
  }
  const elapsed = Date.now() - t0
  await sleep(200)
  const after = watched.map(ticks)
  const commandsAfter = await commands()
  const own = process.cpuUsage(self)
  const probe = await admin.hgetall(`${prefix}:probe`)
  process.stdout.write(
    `-P ${processes}, ${n} jobs: ${((n * 1000) / elapsed).toFixed(0)} jobs/s from the first enqueue\n`,
  )
  watched.forEach((pid, i) => {
    const cpu = (((after[i]! - before[i]!) * 10_000) / n).toFixed(0)
    const fields = (probe[String(pid)] ?? '0 0 0 0 0').split(' ')
    const [count, first, last, handlerUs] = fields.map(Number) as [number, number, number, number]
    const role = i === 0 ? 'redis-server' : count === 0 ? 'supervisor' : 'worker'
    const own = count > 0 ? ` (${(((after[i]! - before[i]!) * 10_000) / count).toFixed(0)} per job it ran)` : ''
    const handler = count > 0 ? `, handler ${(handlerUs / count).toFixed(0)} µs/job (V8 status ${fields[4]})` : ''
    const span = count > 0 ? `${own}${handler}, ${count} jobs from +${first - t0} to +${last - t0} ms` : ''
    process.stdout.write(`  ${role.padEnd(12)} pid ${pid}: ${cpu} µs CPU/job${span}\n`)
  })
  const perJob = [...commandsAfter]
    .map(([name, calls]) => [name, (calls - (commandsBefore.get(name) ?? 0)) / n] as const)
    .filter(([, v]) => v >= 0.001)
    .sort((a, b) => b[1] - a[1])
    .map(([name, v]) => `${name} ${v.toFixed(3)}`)
  process.stdout.write(`  Redis commands per job: ${perJob.join(', ')}\n`)
  process.stdout.write(
    `  this process (enqueue, stats every 20 ms): ${((own.user + own.system) / n).toFixed(0)} µs CPU/job\n`,
  )
  await app.close()
} finally {
  cli.kill('SIGTERM')
  await Promise.race([new Promise((resolve) => cli.once('exit', resolve)), sleep(30_000)])
  admin.disconnect()
  server.kill('SIGTERM')
  await new Promise((resolve) => server.once('exit', resolve))
  rmSync(dir, { recursive: true, force: true })
}
