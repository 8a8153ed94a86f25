import { memoryOfKeys, redisClient, usedMemory } from '../util/redis'
import { alternate, jobs, type Measurement, type ScenarioContext } from './context'

/**
 * Redis bytes per waiting job: fill N small jobs (`{"i":n,"t":0}`) and measure twice. `keys` sums MEMORY USAGE over
 * this instance's own keys (exact, immune to other tenants); `info` is the INFO used_memory delta the issue names,
 * which also moves with whatever the other engineers' tests do on the shared server, so read it as a cross-check.
 */
export async function memoryScenario(ctx: ScenarioContext): Promise<Measurement[]> {
  const n = ctx.sizes.memoryJobs
  const systems = ctx.systems.filter((s) => s.broker === 'redis')
  const redis = redisClient(ctx.env.redisUrl, 'cvbench-memory-probe')
  try {
    return await alternate(
      ctx,
      'memory',
      `${n.toLocaleString('en-US')} waiting jobs`,
      systems,
      ctx.sizes.fixedRuns,
      [
        { metric: 'bytes/job (keys)', unit: 'B', higherIsBetter: false },
        { metric: 'bytes/job (INFO)', unit: 'B', higherIsBetter: false },
      ],
      async (instance) => {
        const batch = jobs(n)
        // One job first, so per-queue fixed structures (ids, meta keys, script cache) are not counted per job.
        await instance.enqueue(batch[0]!)
        const base = await memoryOfKeys(redis, instance.namespace)
        const before = await usedMemory(redis)
        await instance.fill(batch.slice(1))
        const after = await usedMemory(redis)
        const filled = await memoryOfKeys(redis, instance.namespace)
        return {
          'bytes/job (keys)': (filled.bytes - base.bytes) / (n - 1),
          'bytes/job (INFO)': (after - before) / (n - 1),
        }
      },
    )
  } finally {
    await redis.quit()
  }
}
