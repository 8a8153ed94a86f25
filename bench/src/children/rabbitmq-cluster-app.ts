/**
 * The app of one worker process in the RabbitMQ cluster scaling bench (`tools/rabbitmq-cluster-scaling.ts`): one task
 * per quorum queue (`bench.cpu.<i>` on `q<i>`), the cluster's node URLs in `BENCH_AMQP_URLS` (comma-separated, this
 * process prefers the node `BENCH_FIRST_NODE`), the prefix in `BENCH_PREFIX`. The handler does
 * `BENCH_WORK_ITERATIONS` loop iterations of CPU work (about 0.2 ms by default), as in the Redis cluster bench. Prints
 * `{"event":"ready"}` once its worker consumes, then `{"event":"progress","processed":n}` every 100 ms (RabbitMQ's
 * queue counts leave out what workers hold, so the parent counts completions instead).
 */
import { createApp } from '@conveyor/core'
import { createRabbitMQBroker } from '@conveyor/rabbitmq'

const prefix = process.env.BENCH_PREFIX
const urls = (process.env.BENCH_AMQP_URLS ?? '').split(',').filter(Boolean)
if (!prefix || urls.length === 0)
  throw new Error('[bench] rabbitmq-cluster-app: BENCH_PREFIX and BENCH_AMQP_URLS are required')
const first = Number(process.env.BENCH_FIRST_NODE ?? 0) % urls.length
const queues = Number(process.env.BENCH_QUEUES ?? 6)
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 10)
const iterations = Number(process.env.BENCH_WORK_ITERATIONS ?? 200_000)

const app = createApp({
  broker: createRabbitMQBroker({
    url: urls.map((_, i) => urls[(first + i) % urls.length]!),
    prefix,
    queueType: 'quorum',
    logger: false,
  }),
  results: false,
  logger: false,
  events: false,
})
let processed = 0
for (let q = 0; q < queues; q++) {
  app.task(
    `bench.cpu.${q}`,
    async (job: { i: number }) => {
      let x = job.i
      for (let i = 0; i < iterations; i++) x = (x * 31 + i) | 0
      processed++
      return x
    },
    { queue: `q${q}` },
  )
}
const worker = app.worker({ concurrency, handleSignals: false })
await worker.start()
const say = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`)
say({ event: 'ready', pid: process.pid })
setInterval(() => say({ event: 'progress', processed }), 100).unref()
const stop = async () => {
  await worker.stop({ timeoutMs: 2_000 })
  await app.close({ timeoutMs: 2_000 })
  process.exit(0)
}
process.once('SIGTERM', () => void stop())
