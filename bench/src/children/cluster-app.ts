/**
 * The app of one worker process in the Redis Cluster scaling bench (`tools/redis-cluster-scaling.ts`): one task per
 * queue (`bench.cpu.<i>` on `q<i>`, the queues hashed over the cluster's masters), the cluster given as start-node
 * ports in `BENCH_CLUSTER_PORTS`, the prefix in `BENCH_PREFIX`. The handler does `BENCH_WORK_ITERATIONS` loop
 * iterations of CPU work (about 0.2 ms by default), as in the `processes` scenario: with a no-op handler every
 * process would mostly wait on Redis. Prints `{"event":"ready"}` once its worker consumes.
 */
import { createApp } from '@conveyor/core'
import { createRedisBroker } from '@conveyor/redis'

const prefix = process.env.BENCH_PREFIX
const ports = (process.env.BENCH_CLUSTER_PORTS ?? '').split(',').filter(Boolean).map(Number)
if (!prefix || ports.length === 0)
  throw new Error('[bench] cluster-app: BENCH_PREFIX and BENCH_CLUSTER_PORTS are required')
const queues = Number(process.env.BENCH_QUEUES ?? 6)
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 10)
const iterations = Number(process.env.BENCH_WORK_ITERATIONS ?? 200_000)

const app = createApp({
  broker: createRedisBroker({
    cluster: { nodes: ports.map((port) => ({ host: '127.0.0.1', port })) },
    prefix,
    logger: false,
  }),
  results: false,
  logger: false,
  events: false,
})
for (let q = 0; q < queues; q++) {
  app.task(
    `bench.cpu.${q}`,
    async (job: { i: number }) => {
      let x = job.i
      for (let i = 0; i < iterations; i++) x = (x * 31 + i) | 0
      return x
    },
    { queue: `q${q}` },
  )
}
const worker = app.worker({ concurrency, handleSignals: false })
await worker.start()
process.stdout.write(`${JSON.stringify({ event: 'ready', pid: process.pid })}\n`)
const stop = async () => {
  await worker.stop({ timeoutMs: 2_000 })
  await app.close({ timeoutMs: 2_000 })
  process.exit(0)
}
process.once('SIGTERM', () => void stop())
