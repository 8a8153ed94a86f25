import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { BenchSystem, SystemInstance } from '../systems/system'
import { UnavailableError } from '../systems/system'
import { namespace } from '../util/names'
import { deleteKeys, redisClient } from '../util/redis'
import { now, sleep } from '../util/time'
import { alternate, jobs, type Measurement, type ScenarioContext } from './context'

const BIN = fileURLToPath(new URL('../../../packages/cli/bin/conveyor.js', import.meta.url))
const APP = fileURLToPath(new URL('../children/cli-app.ts', import.meta.url))
const BENCH_DIR = fileURLToPath(new URL('../..', import.meta.url))
/** Handler slots per worker process (the CLI's default). */
const CONCURRENCY = 10

/** A free TCP port for the supervisor's /readyz (bound once, then released). */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })

async function ready(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null) throw new Error(`[bench] conveyor worker exited with ${child.exitCode}`)
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    )
    if (ok) return
    if (now() > deadline) throw new Error(`[bench] conveyor worker not ready within ${timeoutMs} ms`)
    await sleep(100)
  }
}

/** The shortest and longest wait between two readings of the queue's depth. */
const FINE_MS = 5
const COARSE_MS = 200

/**
 * When 5% of `n` jobs were done and when the last was, from readings of the depth (`left`). The readings take CPU on
 * the cores the workers use: read every 10 ms, they cost 20–30 µs per job here (tools/processes-split.ts), which took
 * from `-P 2` what `-P 1` had spare. So the watch reads every 5 ms only around the two moments it times, and in
 * between waits half the time the jobs left should take at the rate so far (at most 200 ms): ~30 readings a drain
 * instead of ~300, each end timed within 5 ms.
 */
async function watchDrain(n: number, left: () => Promise<number>): Promise<{ from: number; to: number }> {
  let from = 0
  for (;;) {
    const remaining = await left()
    const at = now()
    if (from === 0 && remaining <= n * 0.95) from = at
    if (remaining === 0) return { from: from || at, to: at }
    if (from === 0) {
      await sleep(FINE_MS)
      continue
    }
    const rate = (n - remaining) / Math.max(1, at - from)
    await sleep(Math.min(COARSE_MS, Math.max(FINE_MS, remaining / rate / 2)))
  }
}

/** `conveyor worker -P <processes>` on the bench's Redis: the real CLI, supervisor and child processes. */
function cliSystem(processes: number): BenchSystem {
  return {
    id: `conveyor-redis-P${processes}`,
    broker: 'redis',
    family: 'conveyor',
    description: `conveyor worker -P ${processes} -c ${CONCURRENCY} (supervised processes) on Redis, CPU-bound handler`,
    async create(env) {
      const { createRedisBroker } = await import('@conveyor/redis').catch((error: unknown) => {
        throw new UnavailableError(`@conveyor/redis does not load: ${(error as Error).message}`)
      })
      const { createApp } = await import('@conveyor/core')
      const ns = namespace(`cli-p${processes}`)
      const broker = createRedisBroker({ url: env.redisUrl, prefix: ns, logger: false })
      const app = createApp({ broker, results: false, logger: false, events: false, defaults: { queue: 'q' } })
      const task = app.task('bench.cpu', async () => undefined)
      return {
        namespace: ns,
        enqueue: async (job) => void (await task.enqueue(job)),
        async fill(list) {
          for (let i = 0; i < list.length; i += 1000) await task.enqueueMany(list.slice(i, i + 1000))
        },
        consume: () => Promise.reject(new Error('[bench] the CLI systems are driven by the processes scenario')),
        // The scenario reads the queue's depth through this instance's broker.
        stats: () => broker.stats('q'),
        async close() {
          await app.close({ timeoutMs: 5_000 })
          const redis = redisClient(env.redisUrl, `${ns}:cleanup`)
          await deleteKeys(redis, ns).finally(() => redis.quit())
        },
      } as SystemInstance & { stats(): Promise<{ ready: number; inFlight: number; delayed: number }> }
    },
  }
}

/**
 * Several worker processes (issue 18): `conveyor worker -P 1` and `-P 2` drain the same backlog of jobs whose
 * handler does ~0.2 ms of CPU work each. The supervisor and its children start first (until /readyz answers), then
 * the backlog is enqueued; the clock runs from 5% of the jobs done to the last, read from the queue's depth (ready +
 * in flight) by `watchDrain`. On a 2-core machine the Redis server and this process share the cores with the workers.
 */
export async function processesScenario(ctx: ScenarioContext): Promise<Measurement[]> {
  if (!ctx.systems.some((s) => s.id === 'conveyor-redis')) return []
  const n = ctx.sizes.processesJobs
  const systems = [cliSystem(1), cliSystem(2)]
  return alternate(
    ctx,
    'processes',
    `backlog ${n.toLocaleString('en-US')}, ~0.2 ms CPU per job, -c ${CONCURRENCY} per process`,
    systems,
    ctx.sizes.slowRuns,
    [{ metric: 'jobs/s', unit: 'jobs/s', higherIsBetter: true }],
    async (instance, system) => {
      const processes = Number(system.id.slice(-1))
      const port = await freePort()
      const child = spawn(
        process.execPath,
        [
          BIN,
          'worker',
          '--app',
          APP,
          '-P',
          String(processes),
          '-c',
          String(CONCURRENCY),
          '--health-port',
          String(port),
        ],
        {
          cwd: BENCH_DIR,
          stdio: ['ignore', 'ignore', 'inherit'],
          env: { ...process.env, BENCH_PREFIX: instance.namespace, BENCH_REDIS_URL: ctx.env.redisUrl },
        },
      )
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      try {
        await ready(port, child, 120_000)
        const { stats } = instance as unknown as { stats(): Promise<{ ready: number; inFlight: number }> }
        await instance.fill(jobs(n))
        const left = async () => {
          const s = await stats()
          return s.ready + s.inFlight
        }
        const { from, to } = await watchDrain(n, left)
        return { 'jobs/s': (n * 0.95 * 1000) / (to - from) }
      } finally {
        child.kill('SIGTERM')
        await Promise.race([exited, sleep(30_000)])
        if (child.exitCode === null) child.kill('SIGKILL')
      }
    },
  )
}
