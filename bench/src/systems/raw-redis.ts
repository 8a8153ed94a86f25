import { createLeaseQueue } from '../baselines/lease-queue'
import { namespace } from '../util/names'
import { deleteKeys, redisClient } from '../util/redis'
import type { BenchSystem } from './system'

/** Raw ioredis: LPUSH to enqueue, the batched Lua lease queue to process. The broker's practical limit. */
export const rawRedis: BenchSystem = {
  id: 'raw-redis',
  broker: 'redis',
  family: 'raw',
  description: 'ioredis: LPUSH (pipelined in bulk); Lua lease queue (k per fetch, batched ZREM ack)',
  async create(env, attachTo) {
    const ns = attachTo ?? namespace('raw')
    const redis = redisClient(env.redisUrl, `${ns}:producer`)
    const queue = await createLeaseQueue(redis, ns)
    const consumers = new Set<{ stop(): Promise<void> }>()
    return {
      namespace: ns,
      enqueue: (job) => queue.push(job),
      enqueueBulk: (jobs) => queue.pushMany(jobs),
      async fill(jobs) {
        for (let i = 0; i < jobs.length; i += 1000) await queue.pushMany(jobs.slice(i, i + 1000))
      },
      async consume(concurrency, hooks) {
        const consumer = await queue.consume(concurrency, hooks)
        consumers.add(consumer)
        return consumer
      },
      async close() {
        for (const consumer of consumers) await consumer.stop()
        await deleteKeys(redis, ns)
        await redis.quit()
      },
    }
  },
}
