// The three ways the chord bench runs a chord: Conveyor on Redis, Conveyor on RabbitMQ (results and counting in
// Redis), and Celery 5 (Redis broker and result backend). Each starts its worker once; `run` times one chord.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { chord, group } from '@conveyor/core'
import { queueNames } from '@conveyor/rabbitmq'
import type { Redis } from 'ioredis'
import type { BenchEnv } from '../systems/system'
import { namespace, RUN_TOKEN } from '../util/names'
import { sleep } from '../util/time'
import { CHORD_DELAY_LEVELS, CHORD_QUEUE, type ChordBroker, chordApp, member, total } from './chord-tasks'
import { treeCpuSeconds } from './proc-cpu'

const HERE = fileURLToPath(new URL('.', import.meta.url))
const PYTHON = '/usr/bin/python3'

/** One timed chord: seconds from before the first member is sent until the callback's result is read. */
export interface ChordRun {
  readonly seconds: number
  /** Callback runs counted by the workers for this chord (must be 1). */
  readonly callbacks: number
  /** The callback's result was the expected sum. */
  readonly correct: boolean
  /** CPU seconds the producer and the worker processes used for it (not the servers'): load-independent. */
  readonly cpuSeconds: number
}

export interface ChordSystem {
  readonly id: string
  readonly description: string
  start(): Promise<void>
  run(members: number): Promise<ChordRun>
  stop(): Promise<void>
  /** Queue names this system declared on RabbitMQ (for cleanup). */
  readonly rabbitQueues: readonly string[]
}

export interface ChordSizes {
  readonly concurrency: number
  readonly prefetch: number
}

const expected = (n: number) => n * (n - 1)

/** Resolve on the child's stdout line that parses as JSON and passes `match`; reject if it exits first. */
function lineFrom(child: ChildProcess, match: (value: Record<string, unknown>) => boolean, timeoutMs: number) {
  return new Promise<Record<string, unknown>>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! })
    const timer = setTimeout(
      () => reject(new Error(`[bench] no answer from pid ${child.pid} in ${timeoutMs} ms`)),
      timeoutMs,
    )
    const done = () => {
      clearTimeout(timer)
      lines.close()
    }
    lines.on('line', (line) => {
      try {
        const value = JSON.parse(line) as Record<string, unknown>
        if (match(value)) {
          done()
          resolve(value)
        }
      } catch {
        process.stderr.write(`[bench] [pid ${child.pid}] ${line}\n`)
      }
    })
    child.once('exit', (code) => {
      done()
      reject(new Error(`[bench] pid ${child.pid} exited (${code}) before answering`))
    })
  })
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await Promise.race([exited, sleep(3000)])
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
}

function rabbitQueues(ns: string): string[] {
  const names = queueNames(ns, CHORD_QUEUE, CHORD_DELAY_LEVELS)
  return [names.work, names.dead, ...names.delays.map((d) => d.name)]
}

export function conveyorChord(env: BenchEnv, broker: ChordBroker, redis: Redis, sizes: ChordSizes): ChordSystem {
  const ns = namespace(`chord-${broker}`)
  const app = chordApp(env, broker, ns)
  let worker: ChildProcess | undefined
  return {
    id: `conveyor-${broker}`,
    description:
      broker === 'redis'
        ? 'Conveyor, Redis broker + Redis results'
        : 'Conveyor, RabbitMQ broker + Redis results (counting in Redis)',
    rabbitQueues: broker === 'rabbitmq' ? rabbitQueues(ns) : [],
    async start() {
      const source = process.execArgv.includes('--conditions=conveyor-source') ? ['--conditions=conveyor-source'] : []
      const args = [broker, ns, String(sizes.concurrency), String(sizes.prefetch)]
      worker = spawn(process.execPath, ['--import', 'tsx', ...source, `${HERE}chord-worker.ts`, ...args], {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      await lineFrom(worker, (line) => line.event === 'ready', 120_000)
      // One small chord untimed: connections warm, queues declared, scripts loaded.
      await this.run(2)
    },
    async run(members) {
      const before = Number((await redis.get(`${ns}:callbacks`)) ?? 0)
      const workerCpu = treeCpuSeconds(worker!.pid!)
      const producerCpu = process.cpuUsage()
      const started = performance.now()
      const job = await app.enqueueWorkflow(
        chord(group(Array.from({ length: members }, (_, i) => member.with(i))), total),
      )
      const value = await job.result({ timeoutMs: 900_000 })
      const seconds = (performance.now() - started) / 1000
      const producer = process.cpuUsage(producerCpu)
      const cpuSeconds = treeCpuSeconds(worker!.pid!) - workerCpu + (producer.user + producer.system) / 1e6
      // A second callback run would come after the first result: give it time to show.
      await sleep(500)
      const callbacks = Number((await redis.get(`${ns}:callbacks`)) ?? 0) - before
      return { seconds, callbacks, correct: value === expected(members), cpuSeconds }
    },
    async stop() {
      await stopChild(worker)
      await app.close({ timeoutMs: 2000 }).catch(() => undefined)
    },
  }
}

/** Celery 5 from Debian's python3-celery; undefined (with the reason) when it is not installed. */
export function celeryChord(env: BenchEnv, sizes: ChordSizes): ChordSystem | string {
  if (!existsSync(PYTHON) || !existsSync('/usr/lib/python3/dist-packages/celery')) {
    return 'skipped: Celery is not installed (apt-get install python3-celery python3-redis)'
  }
  const queue = `${RUN_TOKEN}-celery-chord`
  const pyEnv = {
    ...process.env,
    PYTHONPATH: HERE,
    PYTHONHOME: '',
    BENCH_TOKEN: RUN_TOKEN,
    BENCH_QUEUE: queue,
    BENCH_CELERY_REDIS: env.redisUrl,
  }
  let worker: ChildProcess | undefined
  const python = (args: string[], stdout: 'pipe' | 'ignore') =>
    spawn(PYTHON, args, { cwd: HERE, env: pyEnv, stdio: ['ignore', stdout, 'pipe'] })
  const system: ChordSystem = {
    id: 'celery-redis',
    description: `Celery 5 prefork, Redis broker + Redis result backend (-c ${sizes.concurrency}, prefetch ×4)`,
    rabbitQueues: [],
    async start() {
      const args = ['-m', 'celery', '-A', 'celery_chord', 'worker', '-P', 'prefork', '-l', 'WARNING']
      worker = python([...args, '-c', String(sizes.concurrency), '-Q', queue], 'ignore')
      let errors = ''
      worker.stderr!.on('data', (chunk: Buffer) => {
        errors = (errors + chunk.toString()).slice(-2000)
      })
      worker.once('exit', (code) => {
        if (code !== 0 && code !== null) process.stderr.write(`[bench] celery worker exited ${code}: ${errors}\n`)
      })
      await this.run(2)
    },
    async run(members) {
      const workerCpu = treeCpuSeconds(worker!.pid!)
      const child = python(['celery_chord.py', String(members)], 'pipe')
      let errors = ''
      child.stderr!.on('data', (chunk: Buffer) => {
        errors = (errors + chunk.toString()).slice(-2000)
      })
      // The script gives up by itself when the chord stops moving (exit 2, saying where it stood); this timeout is
      // the backstop, and a script still running then is killed rather than left polling.
      const line = await lineFrom(child, (value) => typeof value.seconds === 'number', 900_000).catch((error) => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
        throw new Error(`${(error as Error).message}: ${errors}`)
      })
      return {
        seconds: Number(line.seconds),
        callbacks: Number(line.callbacks),
        correct: line.value === expected(members),
        // The worker's CPU over the whole script (its warm-up probe is one tiny task) plus the producer's own.
        cpuSeconds: treeCpuSeconds(worker!.pid!) - workerCpu + Number(line.cpu),
      }
    },
    async stop() {
      await stopChild(worker)
    },
  }
  return system
}
