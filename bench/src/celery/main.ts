/**
 * Celery-format throughput on Redis: a Conveyor worker consuming Celery protocol v2 messages from Kombu's lists
 * (`@conveyor/celery`) against a Celery 5 prefork worker with default settings, same concurrency, same messages,
 * same server. Both queues are filled before the clock starts; a run ends when the queue is drained and nothing is
 * held any more. No result backend on either side (Celery's default).
 *
 *   npm run bench:celery -w bench -- [--quick] [--concurrency 4] [--messages 3000]
 *
 * Both sides hold up to 4 × concurrency messages: Celery's default `worker_prefetch_multiplier` is 4, and the
 * Conveyor worker gets the same `prefetch`.
 *
 * The Celery column is skipped, with a message, when Debian's python3-celery is not installed.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createCeleryRedisBroker, encodeKombu, envelopeToCelery } from '@conveyor/celery'
import { createApp } from '@conveyor/core'
import type { Redis } from 'ioredis'
import { RUN_TOKEN } from '../util/names'
import { deleteKeys, redisClient } from '../util/redis'

const PYTHON = '/usr/bin/python3'
const HERE = fileURLToPath(new URL('.', import.meta.url))

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    concurrency: { type: 'string', default: '4' },
    messages: { type: 'string' },
  },
})
const concurrency = Number(values.concurrency)
const messages = Number(values.messages ?? (values.quick ? 3000 : 20000))
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0'

/** Put `count` Celery messages (as Python's `delay` would) on `queue`, in pipelined batches. */
async function fill(redis: Redis, queue: string, count: number): Promise<void> {
  for (let start = 0; start < count; start += 1000) {
    const pipeline = redis.pipeline()
    for (let i = start; i < Math.min(count, start + 1000); i++) {
      const envelope = {
        id: `${RUN_TOKEN}-${i}`,
        task: 'bench.noop',
        payload: { args: [i], kwargs: {} },
        queue,
        priority: 9,
        attempt: 1,
        maxAttempts: 1,
        createdAt: Date.now(),
      }
      pipeline.lpush(queue, encodeKombu(envelopeToCelery(envelope, 0), queue))
    }
    await pipeline.exec()
  }
}

async function waitUntil(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > until) throw new Error('[bench] timed out waiting for the queue to drain')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function conveyorRun(redis: Redis): Promise<number> {
  const queue = `${RUN_TOKEN}-conveyor`
  await fill(redis, queue, messages)
  let done = 0
  let finished: () => void = () => undefined
  const all = new Promise<void>((resolve) => {
    finished = resolve
  })
  const app = createApp({
    broker: createCeleryRedisBroker({ url: redisUrl, namespace: `${RUN_TOKEN}-ns`, logger: false }),
    results: false,
    logger: false,
  })
  app.task(
    'bench.noop',
    () => {
      if (++done === messages) finished()
      return null
    },
    { queue },
  )
  const started = performance.now()
  await app.worker({ queues: [queue], concurrency, prefetch: 4 * concurrency }).start()
  await all
  const seconds = (performance.now() - started) / 1000
  await app.close({ timeoutMs: 2000 })
  return messages / seconds
}

async function startCelery(queue: string): Promise<ChildProcess> {
  const child = spawn(
    PYTHON,
    ['-m', 'celery', '-A', 'bench_app', 'worker', '-P', 'prefork', '-c', String(concurrency), '-l', 'WARNING'],
    {
      cwd: HERE,
      env: {
        ...process.env,
        PYTHONPATH: HERE,
        PYTHONHOME: '',
        BENCH_TOKEN: RUN_TOKEN,
        BENCH_QUEUE: queue,
        BENCH_CELERY_BROKER: redisUrl,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  )
  child.stderr!.on('data', () => undefined)
  // Started once it has taken a first message: wait for the probe to leave the queue.
  return child
}

async function celeryRun(redis: Redis): Promise<number | string> {
  if (!existsSync(PYTHON) || !existsSync('/usr/lib/python3/dist-packages/celery')) {
    return 'skipped: Celery is not installed (apt-get install python3-celery python3-redis)'
  }
  const queue = `${RUN_TOKEN}-celery`
  const unacked = `${RUN_TOKEN}-unacked`
  const child = await startCelery(queue)
  try {
    // Wait until the worker consumes (a probe message leaves the queue), so its start-up is not measured.
    await fill(redis, queue, 1)
    await waitUntil(async () => (await redis.llen(queue)) === 0 && (await redis.hlen(unacked)) === 0, 60_000)
    await fill(redis, queue, messages)
    const started = performance.now()
    await waitUntil(async () => (await redis.llen(queue)) === 0 && (await redis.hlen(unacked)) === 0, 600_000)
    return messages / ((performance.now() - started) / 1000)
  } finally {
    child.kill('SIGTERM')
    await new Promise((resolve) => setTimeout(resolve, 500))
    if (child.exitCode === null) child.kill('SIGKILL')
  }
}

const redis = redisClient(redisUrl, 'cvbench-celery')
try {
  console.log(
    `Celery-format messages on Redis: ${messages} tasks, concurrency ${concurrency} (timings on a shared machine are noisy)`,
  )
  const conveyor = await conveyorRun(redis)
  console.log(`  Conveyor worker (@conveyor/celery):   ${conveyor.toFixed(0)} tasks/s`)
  const celery = await celeryRun(redis)
  if (typeof celery === 'string') console.log(`  Celery 5 prefork worker:              ${celery}`)
  else {
    console.log(`  Celery 5 prefork worker (defaults):   ${celery.toFixed(0)} tasks/s`)
    console.log(`  ratio Conveyor / Celery:              ${(conveyor / celery).toFixed(1)}x (target ≥ 5x)`)
  }
} finally {
  await deleteKeys(redis, RUN_TOKEN)
  redis.disconnect()
}
