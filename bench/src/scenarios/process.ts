import { profiled } from '../util/profiler'
import { now, waitFor } from '../util/time'
import { alternate, jobs, type Measurement, type ScenarioContext } from './context'

/**
 * Drain a backlog of N no-op jobs with one worker at concurrency 1 and 50 (prefetch = concurrency everywhere).
 * The clock runs from the 5th-percentile completion to the last, so worker start-up (connections, script loads)
 * is left out for every system alike; a job counts once it is settled (acked / completed), not when it started.
 * `client CPU` is this process's CPU time per job over the same window: unlike jobs/s it barely moves with the load
 * other tenants put on the machine, so it is the steadier measure of what a system costs its user (servers excluded).
 */
export async function processScenario(ctx: ScenarioContext): Promise<Measurement[]> {
  const out: Measurement[] = []
  for (const concurrency of [1, 50] as const) {
    const n = ctx.sizes.processJobs[concurrency]
    const skip = Math.max(1, Math.floor(n * 0.05))
    out.push(
      ...(await alternate(
        ctx,
        'process',
        `backlog ${n.toLocaleString('en-US')}, concurrency ${concurrency}`,
        ctx.systems,
        ctx.sizes.runs,
        [
          { metric: 'jobs/s', unit: 'jobs/s', higherIsBetter: true },
          { metric: 'client CPU', unit: 'µs/job', higherIsBetter: false },
        ],
        async (instance, system) => {
          await instance.fill(jobs(n))
          let done = 0
          let from = 0
          let to = 0
          let cpuFrom = process.cpuUsage()
          let cpu = cpuFrom
          return profiled(`process-c${concurrency}-${system.id}`, async () => {
            const consumer = await instance.consume(concurrency, {
              onDone: () => {
                done++
                if (done === skip) {
                  from = now()
                  cpuFrom = process.cpuUsage()
                }
                if (done === n) {
                  to = now()
                  cpu = process.cpuUsage(cpuFrom)
                }
              },
            })
            try {
              await waitFor(() => done >= n, `${n} completions`, 180_000, 5)
            } finally {
              await consumer.stop()
            }
            return {
              'jobs/s': ((n - skip) / (to - from)) * 1000,
              'client CPU': (cpu.user + cpu.system) / (n - skip),
            }
          })
        },
      )),
    )
  }
  return out
}
