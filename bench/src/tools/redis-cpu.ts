/**
 * Client CPU per job of a Conveyor Redis worker draining a backlog (issue 18), against a private redis-server (a free
 * port in 12000–22000, stopped at the end): one warm-up drain, then `--rounds` measured drains, each reporting
 * `process.cpuUsage()` per job and the server's commands per job. `--profile <dir>` writes a `.cpuprofile` of the
 * last measured drain (summarise with cpu-top.ts); `--heap <dir>` a sampled allocation profile of it, counting what
 * the collector already freed (`.heapprofile`, open in Chrome DevTools' Memory tab). CPU time per job barely moves
 * with the machine's load.
 *
 *   npx tsx --conditions=conveyor-source bench/src/tools/redis-cpu.ts [--jobs 20000] [--concurrency 50]
 *       [--events] [--rounds 3] [--profile dir] [--heap dir]
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { createApp } from '@conveyor/core'
import { createRedisBroker } from '@conveyor/redis'
import { Redis } from 'ioredis'

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '3' },
    events: { type: 'boolean', default: false },
    profile: { type: 'string' },
    heap: { type: 'string' },
  },
})
const jobs = Number(values.jobs)
const concurrency = Number(values.concurrency)
const rounds = Number(values.rounds)
const port = 12000 + Math.floor(Math.random() * 10_000)
const dir = mkdtempSync(join(tmpdir(), 'cv-redis-cpu-'))
const server = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir], {
  stdio: 'ignore',
})
const url = `redis://127.0.0.1:${port}`
const admin = new Redis(url, { lazyConnect: true })

async function commands(): Promise<Map<string, number>> {
  const info = await admin.info('commandstats')
  const calls = new Map<string, number>()
  for (const match of info.matchAll(/^cmdstat_(\w+):calls=(\d+),usec=(\d+)/gm)) {
    if (match[1] !== 'info') {
      calls.set(match[1]!, Number(match[2]))
      calls.set(`usec:${match[1]}`, Number(match[3]))
    }
  }
  return calls
}

async function drain(round: number, profile: Session | undefined): Promise<string> {
  const prefix = `cpu-${round}`
  const broker = createRedisBroker({ url, prefix, logger: false })
  const app = createApp({ broker, results: false, logger: false, defaults: { queue: 'q' }, events: values.events })
  const noop = app.task('bench.noop', async (_job: { n: number }) => undefined)
  for (let i = 0; i < jobs; i += 1000) {
    await noop.enqueueMany(Array.from({ length: Math.min(1000, jobs - i) }, (_, n) => ({ n: i + n })))
  }
  await app.events.flush()
  let done = 0
  let finished!: () => void
  const all = new Promise<void>((resolve) => {
    finished = resolve
  })
  app.events.on('task.succeeded', () => {
    if (++done === jobs) finished()
  })
  const before = await commands()
  if (profile && values.profile !== undefined) await profile.post('Profiler.start')
  if (profile && values.heap !== undefined) {
    // Every allocation sampled, also those a scavenge freed since: what the drain allocates, not what it keeps.
    await profile.post('HeapProfiler.startSampling', {
      samplingInterval: 512,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    })
  }
  // Marks for --trace-gc-nvp logs: GC lines between them belong to the drain.
  if (process.env.REDIS_CPU_MARKS) process.stdout.write('drain-start\n')
  const cpu = process.cpuUsage()
  const at = performance.now()
  const worker = app.worker({ queues: ['q'], concurrency })
  await worker.start()
  await all
  const used = process.cpuUsage(cpu)
  const elapsed = performance.now() - at
  if (process.env.REDIS_CPU_MARKS) process.stdout.write('drain-end\n')
  const name = `redis-c${concurrency}${values.events ? '-events' : ''}`
  if (profile && values.profile !== undefined) {
    const { profile: data } = await profile.post('Profiler.stop')
    writeFileSync(join(values.profile, `${name}.cpuprofile`), JSON.stringify(data))
  }
  if (profile && values.heap !== undefined) {
    const { profile: data } = await profile.post('HeapProfiler.stopSampling')
    writeFileSync(join(values.heap, `${name}.heapprofile`), JSON.stringify(data))
  }
  await app.events.flush()
  const after = await commands()
  await worker.stop({ timeoutMs: 5000 })
  await app.close({ timeoutMs: 5000 })
  const perJob = [...after]
    .map(([name, calls]) => [name, (calls - (before.get(name) ?? 0)) / jobs] as const)
    .filter(([, v]) => v >= 0.001)
    .sort((a, b) => b[1] - a[1])
    .map(([name, v]) => (name.startsWith('usec:') ? `${name} ${v.toFixed(2)} µs` : `${name} ${v.toFixed(3)}`))
    .join(', ')
  return (
    `${((jobs / elapsed) * 1000).toFixed(0)} jobs/s, client CPU ${((used.user + used.system) / jobs).toFixed(2)} µs/job ` +
    `(user ${(used.user / jobs).toFixed(2)}); ${perJob}`
  )
}

try {
  await new Promise((resolve) => setTimeout(resolve, 400))
  await admin.connect()
  process.stdout.write(`warm-up: ${await drain(0, undefined)}\n`)
  let session: Session | undefined
  for (let round = 1; round <= rounds; round++) {
    if (round === rounds && (values.profile !== undefined || values.heap !== undefined)) {
      session = new Session()
      session.connect()
      await session.post('Profiler.enable')
      await session.post('Profiler.setSamplingInterval', { interval: 100 })
    }
    process.stdout.write(`c${concurrency}${values.events ? ' events' : ''} #${round}: ${await drain(round, session)}\n`)
  }
} finally {
  admin.disconnect()
  server.kill('SIGTERM')
  await new Promise((resolve) => server.once('exit', resolve))
  rmSync(dir, { recursive: true, force: true })
}
