/**
 * What cross-process events cost a Redis worker, in measures that barely move with the machine's load (issue 13):
 * against a private redis-server (started here on a free port in 12000–22000, stopped at the end), drain a backlog
 * at concurrency 50 with events off and on, alternately, and print per job: the worker process's CPU time, Redis
 * commands and round trips (`INFO commandstats`, `INFO stats`), the server's time in commands, and the garbage
 * collector's pauses. Jobs/s is printed too, but on a shared machine only the ratio of the per-job measures means much.
 *
 * `npx tsx --conditions=conveyor-source bench/src/tools/events-cost.ts [jobs=100000] [rounds=5] [--results]`
 * (20,000 jobs drain in 0.15 s at concurrency 50: too short for the ratio to settle)
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PerformanceObserver } from 'node:perf_hooks'
import { createApp } from '@conveyor/core'
import { createRedisBroker, createRedisResultBackend } from '@conveyor/redis'
import { Redis } from 'ioredis'

const positional = process.argv.slice(2).filter((arg) => !arg.startsWith('--'))
const jobs = Number(positional[0] ?? 100_000)
const rounds = Number(positional[1] ?? 5)
/** `--results`: both sides store results in Redis, so events on also write the task history (one script per batch). */
const withResults = process.argv.includes('--results')
const port = 12000 + Math.floor(Math.random() * 10_000)
const dir = mkdtempSync(join(tmpdir(), 'cv-events-cost-'))
const server = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir], {
  stdio: 'ignore',
})
const url = `redis://127.0.0.1:${port}`
const admin = new Redis(url, { lazyConnect: true })

interface Sample {
  readonly jobsPerSecond: number
  readonly cpuUsPerJob: number
  readonly callsPerJob: number
  readonly roundTripsPerJob: number
  readonly serverUsPerJob: number
  /** Garbage collections per 1,000 jobs, and their pause time per job. */
  readonly gcPerThousandJobs: number
  readonly gcUsPerJob: number
}

/** Calls and server microseconds over every command, from `INFO commandstats`. */
async function commandTotals(): Promise<{ calls: number; usec: number }> {
  const info = await admin.info('commandstats')
  let calls = 0
  let usec = 0
  for (const match of info.matchAll(/^cmdstat_(\w+):calls=(\d+),usec=(\d+)/gm)) {
    if (match[1] === 'info') continue
    calls += Number(match[2])
    usec += Number(match[3])
  }
  return { calls, usec }
}

/** Commands the server read off sockets, counting a pipeline or a script as many: round trips are `total_commands_processed` less what scripts ran inside. */
async function processed(): Promise<number> {
  const info = await admin.info('stats')
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? 0)
}

/** Garbage collections seen (count and total pause), by a PerformanceObserver; read around each sample. */
const gc = { count: 0, ms: 0 }
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gc.count++
    gc.ms += entry.duration
  }
}).observe({ entryTypes: ['gc'] })

async function sample(events: boolean, round: number): Promise<Sample> {
  const prefix = `cost-${events ? 'on' : 'off'}-${round}`
  const broker = createRedisBroker({ url, prefix, logger: false })
  const results = withResults ? createRedisResultBackend({ url, prefix, logger: false }) : false
  const app = createApp({ broker, results, logger: false, defaults: { queue: 'q' }, events })
  const noop = app.task('bench.noop', async (_job: { n: number }) => undefined)
  for (let i = 0; i < jobs; i += 1000) {
    await noop.enqueueMany(Array.from({ length: Math.min(1000, jobs - i) }, (_, n) => ({ n: i + n })))
  }
  await app.events.flush()
  const skip = Math.floor(jobs * 0.05)
  let done = 0
  let from = { at: 0, cpu: process.cpuUsage(), totals: { calls: 0, usec: 0 }, processed: 0, gc: { ...gc } }
  let marking: Promise<void> | undefined
  let finished!: () => void
  const all = new Promise<void>((resolve) => {
    finished = resolve
  })
  app.events.on('task.succeeded', () => {
    done++
    if (done === skip) {
      const at = performance.now()
      const cpu = process.cpuUsage()
      const gcFrom = { ...gc }
      marking = Promise.all([commandTotals(), processed()]).then(([totals, count]) => {
        from = { at, cpu, totals, processed: count, gc: gcFrom }
      })
    }
    if (done === jobs) finished()
  })
  const worker = app.worker({ queues: ['q'], concurrency: 50 })
  await worker.start()
  await all
  const elapsed = performance.now() - from.at
  const cpu = process.cpuUsage(from.cpu)
  const gcTo = { ...gc }
  await marking
  await app.events.flush()
  const [totals, count] = await Promise.all([commandTotals(), processed()])
  await worker.stop({ timeoutMs: 5000 })
  await app.close({ timeoutMs: 5000 })
  const n = jobs - skip
  // The two INFO calls of the first mark are counted in `processed`; they are noise at these sizes.
  return {
    jobsPerSecond: (n / elapsed) * 1000,
    cpuUsPerJob: (cpu.user + cpu.system) / n,
    callsPerJob: (totals.calls - from.totals.calls) / n,
    roundTripsPerJob: (count - from.processed) / n,
    serverUsPerJob: (totals.usec - from.totals.usec) / n,
    gcPerThousandJobs: ((gcTo.count - from.gc.count) * 1000) / n,
    gcUsPerJob: ((gcTo.ms - from.gc.ms) * 1000) / n,
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!

try {
  await new Promise((resolve) => setTimeout(resolve, 400))
  await admin.connect()
  const off: Sample[] = []
  const on: Sample[] = []
  for (let round = 0; round < rounds; round++) {
    // Alternate which goes first, so a slow moment of the machine does not land on one side only.
    for (const events of round % 2 === 0 ? [false, true] : [true, false]) {
      const s = await sample(events, round)
      ;(events ? on : off).push(s)
      process.stdout.write(
        `events ${events ? 'on ' : 'off'} #${round + 1}: ${s.jobsPerSecond.toFixed(0)} jobs/s, ` +
          `client CPU ${s.cpuUsPerJob.toFixed(2)} µs/job, ${s.callsPerJob.toFixed(3)} commands/job ` +
          `(${s.roundTripsPerJob.toFixed(3)} processed), server ${s.serverUsPerJob.toFixed(2)} µs/job, ` +
          `GC ${s.gcPerThousandJobs.toFixed(2)}/1000 jobs ${s.gcUsPerJob.toFixed(2)} µs/job\n`,
      )
    }
  }
  const row = (label: string, key: keyof Sample, digits: number) => {
    const a = median(off.map((s) => s[key]))
    const b = median(on.map((s) => s[key]))
    process.stdout.write(
      `${label.padEnd(22)} off ${a.toFixed(digits).padStart(9)}  on ${b.toFixed(digits).padStart(9)}  on ÷ off ${(b / a).toFixed(2)}\n`,
    )
  }
  const setup = withResults ? ', results in Redis (events on write the task history too)' : ''
  process.stdout.write(`\nmedians of ${rounds}, ${jobs.toLocaleString('en-US')} jobs, concurrency 50${setup}:\n`)
  row('jobs/s', 'jobsPerSecond', 0)
  row('client CPU µs/job', 'cpuUsPerJob', 2)
  row('commands/job', 'callsPerJob', 3)
  row('processed/job', 'roundTripsPerJob', 3)
  row('server µs/job', 'serverUsPerJob', 2)
  row('GCs per 1,000 jobs', 'gcPerThousandJobs', 2)
  row('GC pause µs/job', 'gcUsPerJob', 2)
} finally {
  admin.disconnect()
  server.kill('SIGTERM')
  await new Promise((resolve) => server.once('exit', resolve))
  rmSync(dir, { recursive: true, force: true })
}
