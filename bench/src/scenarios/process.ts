import { brokerCpu } from '../util/broker-cpu'
import { profiled } from '../util/profiler'
import { now, waitFor } from '../util/time'
import { alternate, jobs, type Measurement, type ScenarioContext } from './context'

/**
 * Drain a backlog of N no-op jobs with one worker at concurrency 1 and 50 (prefetch = concurrency everywhere).
 * The clock runs from the 5th-percentile completion to the last, so worker start-up (connections, script loads)
 * is left out for every system alike; a job counts once it is settled (acked / completed), not when it started.
 * `client CPU` is this process's CPU time per job over the same window: unlike jobs/s it barely moves with the load
 * other tenants put on the machine, so it is the steadier measure of what a system costs its user (servers excluded).
 * `broker CPU` is the server's CPU time per job over the whole drain (fill excluded): what bounds a system once the
 * client is not the limit, and on RabbitMQ's priority queue the mark of its slow mode (docs/performance.md).
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
          { metric: 'broker CPU', unit: 'µs/job', higherIsBetter: false, brokers: ['redis', 'rabbitmq'] },
        ],
        async (instance, system) => {
          await instance.fill(jobs(n))
          const server = brokerCpu(system.broker, ctx.env)
          // A side reading: when the server's CPU cannot be read, the sample keeps its other metrics without it.
          const serverFrom = await server?.read().catch(() => undefined)
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
            let serverUs: number | undefined
            try {
              await waitFor(() => done >= n, `${n} completions`, 180_000, 5)
              const serverTo = serverFrom === undefined ? undefined : await server?.read().catch(() => undefined)
              if (serverFrom !== undefined && serverTo !== undefined) serverUs = serverTo - serverFrom
            } finally {
              await consumer.stop()
              await server?.close()
            }
            return {
              'jobs/s': ((n - skip) / (to - from)) * 1000,
              'client CPU': (cpu.user + cpu.system) / (n - skip),
              ...(serverUs !== undefined ? { 'broker CPU': serverUs / n } : {}),
            }
          })
        },
      )),
    )
  }
  return out
}
