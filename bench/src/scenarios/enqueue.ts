import { NotApplicableError } from '../systems/system'
import { inFlight } from '../util/pool'
import { profiled } from '../util/profiler'
import { now } from '../util/time'
import { alternate, jobs, type Measurement, type ScenarioContext } from './context'

const IN_FLIGHT = 64
const BULK = 1_000
const JOBS_PER_S = [
  { metric: 'jobs/s', unit: 'jobs/s', higherIsBetter: true },
  { metric: 'client CPU', unit: 'µs/job', higherIsBetter: false },
] as const

/** Enqueue throughput: single calls with 64 in flight, then bulk calls of 1,000 where the API has them. */
export async function enqueueScenario(ctx: ScenarioContext): Promise<Measurement[]> {
  const n = ctx.sizes.enqueueJobs
  const warm = Math.min(500, Math.ceil(n / 10))
  const single = await alternate(
    ctx,
    'enqueue',
    `single, ${IN_FLIGHT} in flight`,
    ctx.systems,
    ctx.sizes.runs,
    JOBS_PER_S,
    async (instance, system) => {
      const batch = jobs(n + warm)
      // Warm-up: connections, script loads, queue declarations happen once per instance, not per job.
      await inFlight(warm, IN_FLIGHT, (i) => instance.enqueue(batch[i]!))
      return profiled(`enqueue-single-${system.id}`, async () => {
        const start = now()
        const cpu = process.cpuUsage()
        await inFlight(n, IN_FLIGHT, (i) => instance.enqueue(batch[warm + i]!))
        return { 'jobs/s': (n / (now() - start)) * 1000, ...cpuPerJob(cpu, n) }
      })
    },
  )
  const bulk = await alternate(
    ctx,
    'enqueue',
    `bulk, ${BULK.toLocaleString('en-US')} per call`,
    ctx.systems,
    ctx.sizes.runs,
    JOBS_PER_S,
    async (instance) => {
      const enqueueBulk = instance.enqueueBulk
      if (!enqueueBulk) throw new NotApplicableError('no bulk enqueue in the public API')
      const batch = jobs(n + warm)
      await enqueueBulk(batch.slice(0, warm))
      const start = now()
      const cpu = process.cpuUsage()
      for (let i = warm; i < warm + n; i += BULK) await enqueueBulk(batch.slice(i, Math.min(warm + n, i + BULK)))
      return { 'jobs/s': (n / (now() - start)) * 1000, ...cpuPerJob(cpu, n) }
    },
  )
  return [...single, ...bulk]
}

/** This process's CPU time per job since `from` (user + system, µs). */
function cpuPerJob(from: NodeJS.CpuUsage, n: number): { 'client CPU': number } {
  const used = process.cpuUsage(from)
  return { 'client CPU': (used.user + used.system) / n }
}
