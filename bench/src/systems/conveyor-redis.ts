import { namespace } from '../util/names'
import { deleteKeys, redisClient } from '../util/redis'
import { brokerFactory } from './adapter-factory'
import { conveyorInstance } from './conveyor-app'
import type { BenchSystem } from './system'

interface RedisBrokerOptions {
  readonly url: string
  readonly prefix: string
  readonly logger: false
  readonly leaseMs?: number
}

/** Conveyor on `@conveyor/redis`, adapter defaults (lease 10 s, batch 256). */
export const conveyorRedis: BenchSystem = {
  id: 'conveyor-redis',
  broker: 'redis',
  family: 'conveyor',
  description: 'Conveyor app (createApp + task.enqueue + app.worker) on createRedisBroker, adapter defaults',
  async create(env, attachTo) {
    const factory = await brokerFactory<RedisBrokerOptions>('@conveyor/redis', 'createRedisBroker')
    const ns = attachTo ?? namespace('conveyor')
    const broker = factory({ url: env.redisUrl, prefix: ns, logger: false })
    return conveyorInstance(broker, ns, async () => {
      const redis = redisClient(env.redisUrl, `${ns}:cleanup`)
      try {
        await deleteKeys(redis, ns)
      } finally {
        await redis.quit()
      }
    })
  },
}
