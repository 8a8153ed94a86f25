import { profiled } from '../util/profiler'
import { quantile } from '../util/stats'
import { now, sleep, waitFor } from '../util/time'
import { alternate, type Measurement, type ScenarioContext } from './context'

/**
 * End-to-end latency, enqueue call → handler start, at a steady rate (1,000 jobs/s): the producer stamps
 * `performance.now()` into the job and the handler subtracts it, in one process, so there is no clock skew. The
 * first half second is warm-up and not counted.
 */
export async function latencyScenario(ctx: ScenarioContext): Promise<Measurement[]> {
  const { latencyRate: rate, latencySeconds: seconds, latencyConcurrency: concurrency } = ctx.sizes
  const systems = ctx.systems
  const total = Math.round(rate * seconds)
  const warm = Math.round(rate * 0.5)
  return alternate(
    ctx,
    'latency',
    `${rate.toLocaleString('en-US')} jobs/s for ${seconds} s, concurrency ${concurrency}`,
    systems,
    ctx.sizes.slowRuns,
    [
      { metric: 'p50', unit: 'ms', higherIsBetter: false },
      { metric: 'p99', unit: 'ms', higherIsBetter: false },
      { metric: 'max', unit: 'ms', higherIsBetter: false },
      { metric: 'achieved', unit: 'jobs/s', higherIsBetter: true },
    ],
    async (instance, system) => {
      const latencies: number[] = []
      let started = 0
      let failures = 0
      const consumer = await instance.consume(concurrency, {
        onStart: (job) => {
          started++
          if (job.i >= warm) latencies.push(now() - job.t)
        },
        onDone: () => undefined,
      })
      return profiled(`latency-${system.id}`, async () => {
        try {
          const begin = now()
          let sent = 0
          const pending = new Set<Promise<void>>()
          // Pace by the clock, not by a fixed sleep: each tick sends what is owed, so timer jitter does not lower the rate.
          while (sent < total) {
            const owed = Math.min(total, Math.floor(((now() - begin) * rate) / 1000))
            while (sent < owed) {
              const p = instance.enqueue({ i: sent++, t: now() }).catch(() => {
                failures++
              })
              pending.add(p)
              void p.finally(() => pending.delete(p))
            }
            await sleep(1)
          }
          const elapsed = now() - begin
          await Promise.all(pending)
          await waitFor(() => started >= total, `${total} handler starts`, 30_000)
          if (failures > 0) throw new Error(`${failures} enqueues failed`)
          return {
            p50: quantile(latencies, 0.5),
            p99: quantile(latencies, 0.99),
            max: Math.max(...latencies),
            achieved: (total / elapsed) * 1000,
          }
        } finally {
          await consumer.stop()
        }
      })
    },
  )
}
