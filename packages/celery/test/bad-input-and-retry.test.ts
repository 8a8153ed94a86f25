// Foreign messages on a Celery queue (protocol v1, pickle, garbage) are dead-lettered with a reason while the worker
// keeps running; a failed attempt is retried as Celery retries (same id, retries + 1, an eta), on both brokers.
import { type App, type Broker, createApp, type ResultBackend, type TaskContext } from '@conveyor/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type CeleryCall,
  createCeleryAmqpBroker,
  createCeleryRedisBroker,
  createCeleryRedisResultBackend,
  createCeleryRpcResultBackend,
} from '../src/index'
import { AMQP_URL, CELERY_AMQP_URL, cleanAmqp, rawAmqp } from './amqp-helpers'
import { type CeleryEnv, pythonCall, pythonSend, requireCelery } from './python'
import { CELERY_REDIS_URL, cleanRedis, rawRedis, uniqueNamespace, uniqueQueue } from './redis-helpers'

interface Setup {
  readonly name: string
  readonly env: (queue: string) => CeleryEnv
  readonly make: (namespace: string) => { broker: Broker; results: ResultBackend }
  readonly clean: (queue: string, namespace: string) => Promise<void>
}

const maxAttempts = (task: string) => (task === 'proj.tasks.flaky' ? 2 : 1)

const setups: Setup[] = [
  {
    name: 'redis',
    env: (queue) => ({ broker: CELERY_REDIS_URL, backend: CELERY_REDIS_URL, queue }),
    make: (namespace) => ({
      broker: createCeleryRedisBroker({ url: CELERY_REDIS_URL, namespace, maxAttempts, logger: false }),
      results: createCeleryRedisResultBackend({ url: CELERY_REDIS_URL }),
    }),
    clean: async (queue, namespace) => {
      const redis = await rawRedis()
      await cleanRedis(redis, queue, namespace)
      redis.disconnect()
    },
  },
  {
    name: 'amqp',
    env: (queue) => ({ broker: CELERY_AMQP_URL, backend: 'rpc://', queue }),
    make: () => ({
      broker: createCeleryAmqpBroker({ url: AMQP_URL, maxAttempts, logger: false }),
      results: createCeleryRpcResultBackend({ url: AMQP_URL }),
    }),
    clean: async (queue) => {
      const raw = await rawAmqp()
      await cleanAmqp(raw, queue)
      await raw.close()
    },
  },
]

describe('Celery queues with foreign messages and retries', { timeout: 240_000 }, () => {
  describe.each(setups)('Celery queue on $name', (setup) => {
    const queue = uniqueQueue(`bad-${setup.name}`)
    const namespace = uniqueNamespace('bad')
    const env = setup.env(queue)
    const runs: { attempt: number; at: number; notBefore: number | undefined }[] = []
    let app: App

    beforeAll(async () => {
      requireCelery()
      app = createApp({ ...setup.make(namespace), logger: false })
      app.task('proj.tasks.add', ({ args }: CeleryCall<[number, number]>) => args[0] + args[1], { queue })
      app.task(
        'proj.tasks.flaky',
        ({ args }: CeleryCall<[string]>, ctx: TaskContext) => {
          runs.push({ attempt: ctx.attempt, at: Date.now(), notBefore: ctx.envelope.notBefore })
          if (ctx.attempt === 1) throw new Error('first attempt fails')
          return `${args[0]} on attempt ${ctx.attempt}`
        },
        { queue, retry: { backoff: 500 } },
      )
      await app.worker({ queues: [queue], concurrency: 2 }).start()
    })

    afterAll(async () => {
      await app?.close({ timeoutMs: 1000 })
      await setup.clean(queue, namespace)
    })

    it(`celery-bad-input-${setup.name}: protocol v1, pickle and garbage are dead-lettered with reasons; the worker goes on`, async () => {
      await Promise.all([
        pythonSend({ ...env, protocol: 1 }, 'proj.tasks.add', [1, 2], { queue }),
        pythonSend(env, 'proj.tasks.add', [1, 2], { queue, serializer: 'pickle' }),
        app.broker.publishRaw(queue, 'garbage, not a message'),
      ])
      const good = await pythonCall(env, 'proj.tasks.add', [3, 4], {}, { queue })
      expect(good).toMatchObject({ status: 'SUCCESS', result: 7 })
      let dead = await app.broker.deadLetters.list(queue)
      for (let i = 0; i < 50 && dead.length < 3; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        dead = await app.broker.deadLetters.list(queue)
      }
      expect(dead.map((d) => d.reason).sort()).toEqual([
        'malformed',
        'unsupported-content-type',
        'unsupported-protocol',
      ])
      for (const entry of dead) expect(entry.error?.message).toMatch(/\[celery\]/)
      expect(await app.broker.deadLetters.count(queue)).toBe(3)
      expect(await app.broker.deadLetters.replay(queue)).toBe(0) // undecodable: never replayed
      expect(await app.broker.deadLetters.purge(queue)).toBe(3)
      expect(await app.broker.deadLetters.count(queue)).toBe(0)
    })

    it(`celery-retry-${setup.name}: a failed attempt is republished with retries + 1 and an eta, then succeeds`, async () => {
      const out = await pythonCall(env, 'proj.tasks.flaky', ['done'], {}, { queue })
      expect(out).toMatchObject({ status: 'SUCCESS', result: 'done on attempt 2' })
      expect(runs.map((r) => r.attempt)).toEqual([1, 2])
      const [first, second] = runs as [(typeof runs)[0], (typeof runs)[0]]
      expect(second.notBefore).toBeGreaterThanOrEqual(first.at + 450)
      expect(second.at).toBeGreaterThanOrEqual(second.notBefore! - 5)
    })
  })
})
