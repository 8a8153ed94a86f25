import { spawnWorker } from '../children/spawn'
import { conveyorRedis } from '../systems/conveyor-redis'
import { UnavailableError } from '../systems/system'
import { sleep } from '../util/time'
import type { Measurement, ScenarioContext } from './context'
import { jobs } from './context'

const BACKLOG = 20_000
const CHUNK = 5_000

/**
 * Worker RSS growth over a long run (opt-in: `--scenario rss`, 1,000,000 jobs by default). A Conveyor Redis worker
 * runs in its own process (concurrency 50, `--expose-gc`, a GC before each report); this process keeps a bounded
 * backlog in front of it. Growth = RSS after the last job − RSS once 5% were done (warm: JIT, pools, buffers).
 */
export async function rssScenario(ctx: ScenarioContext): Promise<Measurement[]> {
  const total = ctx.sizes.rssJobs
  const measurement: Measurement = {
    scenario: 'rss',
    case: `${total.toLocaleString('en-US')} jobs, concurrency 50`,
    metric: 'RSS growth',
    unit: 'MB',
    higherIsBetter: false,
    system: conveyorRedis.id,
    samples: [],
    median: Number.NaN,
  }
  if (!ctx.systems.some((s) => s.id === conveyorRedis.id)) return []
  let instance: Awaited<ReturnType<typeof conveyorRedis.create>> | undefined
  try {
    instance = await conveyorRedis.create(ctx.env)
    const child = spawnWorker([conveyorRedis.id, instance.namespace, 'rss'], ['--expose-gc'])
    try {
      await child.next('ready', 60_000)
      let processed = 0
      let warmRss = 0
      let lastRss = 0
      let peakRss = 0
      child.onEvent((event) => {
        if (event.event !== 'progress') return
        processed = Number(event.processed)
        lastRss = Number(event.rss)
        peakRss = Math.max(peakRss, lastRss)
        if (warmRss === 0 && processed >= total * 0.05) warmRss = lastRss
      })
      let produced = 0
      let lastLog = 0
      const batch = jobs(CHUNK)
      while (processed < total) {
        if (produced < total && produced - processed < BACKLOG) {
          await instance.fill(batch.slice(0, Math.min(CHUNK, total - produced)))
          produced += Math.min(CHUNK, total - produced)
        } else {
          await sleep(200)
        }
        if (processed - lastLog >= total / 20) {
          lastLog = processed
          ctx.log(`  rss: ${processed.toLocaleString('en-US')} jobs, RSS ${(lastRss / 2 ** 20).toFixed(1)} MB`)
        }
      }
      await sleep(1_200)
      const growth = (lastRss - warmRss) / 2 ** 20
      measurement.samples.push(growth)
      measurement.median = growth
      measurement.note = `warm ${(warmRss / 2 ** 20).toFixed(1)} MB → end ${(lastRss / 2 ** 20).toFixed(1)} MB, peak ${(peakRss / 2 ** 20).toFixed(1)} MB`
      ctx.log(`  rss: growth ${growth.toFixed(1)} MB (${measurement.note})`)
    } finally {
      child.kill('SIGKILL')
      await child.exited
    }
  } catch (error) {
    measurement.note =
      error instanceof UnavailableError ? `n/a: ${error.message}` : `error: ${(error as Error).message ?? error}`
  } finally {
    await instance?.close()
  }
  return [measurement]
}
