// A Conveyor worker SIGKILLed while running a Celery-sent task: the task still completes on another worker, and the
// second delivery says it is one (deliveryCount 2), on Redis (lease expiry) and on RabbitMQ (channel close).
import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { type Broker, createApp, type ResultBackend } from '@conveyor/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type CeleryCall,
  createCeleryAmqpBroker,
  createCeleryRedisBroker,
  createCeleryRedisResultBackend,
  createCeleryRpcResultBackend,
} from '../src/index'
import { AMQP_URL, CELERY_AMQP_URL, cleanAmqp, rawAmqp } from './amqp-helpers'
import { type CeleryEnv, ownChild, pythonCall, requireCelery } from './python'
import { CELERY_REDIS_URL, cleanRedis, rawRedis, uniqueNamespace, uniqueQueue } from './redis-helpers'

const LEASE_MS = 1500
const fixture = fileURLToPath(new URL('./fixtures/hanging-worker.ts', import.meta.url))

/** Node itself with tsx as a loader (not the tsx CLI, whose grandchild SIGKILL would miss). */
function startHangingWorker(args: string[]): { child: ChildProcess; started: Promise<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=conveyor-source', fixture, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  ownChild(child)
  let out = ''
  const started = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const line = /started (\S+) (\d+)/.exec(out)
      if (line) resolve(line[0])
    })
    child.once('exit', (code) => reject(new Error(`hanging worker exited (${code}) before starting: ${out}`)))
  })
  return { child, started }
}

async function killedThenFinished(
  env: CeleryEnv,
  workerArgs: string[],
  make: () => { broker: Broker; results: ResultBackend },
) {
  const seen: number[] = []
  const call = pythonCall(env, 'proj.tasks.add', [5, 6], {}, { queue: env.queue, timeout: 120 })
  const hanging = startHangingWorker(workerArgs)
  try {
    const line = await hanging.started
    expect(line).toMatch(/ 1$/)
  } finally {
    hanging.child.kill('SIGKILL')
  }
  if (hanging.child.exitCode === null && hanging.child.signalCode === null) {
    await new Promise((resolve) => hanging.child.once('exit', resolve))
  }

  const app = createApp({ ...make(), logger: false })
  app.task(
    'proj.tasks.add',
    ({ args }: CeleryCall<[number, number]>, ctx) => {
      seen.push(ctx.deliveryCount)
      return args[0] + args[1]
    },
    { queue: env.queue },
  )
  await app.worker({ queues: [env.queue], concurrency: 1 }).start()
  try {
    expect(await call).toMatchObject({ status: 'SUCCESS', result: 11 })
    expect(seen).toEqual([2])
  } finally {
    await app.close({ timeoutMs: 1000 })
  }
}

describe('a SIGKILLed Conveyor worker loses no Celery task', { timeout: 240_000 }, () => {
  beforeAll(() => requireCelery())

  describe('on Redis', () => {
    const queue = uniqueQueue('crash')
    const namespace = uniqueNamespace('crash')
    afterAll(async () => {
      const redis = await rawRedis()
      await cleanRedis(redis, queue, namespace)
      redis.disconnect()
    })

    it('celery-crash-redis: the lease expires, the next fetch gives it back, it runs again (deliveryCount 2)', async () => {
      const env: CeleryEnv = { broker: CELERY_REDIS_URL, backend: CELERY_REDIS_URL, queue }
      await killedThenFinished(env, ['redis', CELERY_REDIS_URL, queue, namespace, String(LEASE_MS)], () => ({
        broker: createCeleryRedisBroker({ url: CELERY_REDIS_URL, namespace, leaseMs: LEASE_MS, logger: false }),
        results: createCeleryRedisResultBackend({ url: CELERY_REDIS_URL }),
      }))
    })
  })

  describe('on RabbitMQ', () => {
    const queue = uniqueQueue('crash-amqp')
    afterAll(async () => {
      const raw = await rawAmqp()
      await cleanAmqp(raw, queue)
      await raw.close()
    })

    it('celery-crash-amqp: the channel closes, RabbitMQ redelivers it, it runs again (redelivered: deliveryCount 2)', async () => {
      const env: CeleryEnv = { broker: CELERY_AMQP_URL, backend: 'rpc://', queue }
      await killedThenFinished(env, ['amqp', AMQP_URL, queue, '', '0'], () => ({
        broker: createCeleryAmqpBroker({ url: AMQP_URL, logger: false }),
        results: createCeleryRpcResultBackend({ url: AMQP_URL }),
      }))
    })
  })
})
