import { namespace } from '../util/names'
import { deleteKeys, redisClient } from '../util/redis'
import { conveyorInstance } from './conveyor-app'
import { type BenchSystem, UnavailableError } from './system'

/** Conveyor on `@conveyor/redis` with the adapter's defaults (lease 10 s, fetch batch 256). */
export const conveyorRedis: BenchSystem = {
  id: 'conveyor-redis',
  broker: 'redis',
  family: 'conveyor',
  description: 'Conveyor app (createApp + task.enqueue + app.worker) on createRedisBroker, adapter defaults',
  async create(env, attachTo) {
    // Loaded here, not at the top, so a broken adapter shows as n/a in its rows instead of stopping the whole bench.
    const { createRedisBroker } = await import('@conveyor/redis').catch((error: unknown) => {
      throw new UnavailableError(`@conveyor/redis does not load: ${(error as Error).message}`)
    })
    const ns = attachTo ?? namespace('conveyor')
    const broker = createRedisBroker({ url: env.redisUrl, prefix: ns, logger: false })
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
