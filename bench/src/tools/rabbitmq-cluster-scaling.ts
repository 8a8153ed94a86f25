/**
 * Scale-out on a RabbitMQ cluster (issue 17): processing throughput with 1, 2 and 4 worker processes against a local
 * 3-node cluster (private nodes on ports in 10000–11999, started here with the adapter's test harness and stopped at
 * the end), printed as a table with the speed-up over 1 process. The jobs are spread over `--queues` quorum queues,
 * each declared from a different node so their leaders spread over the three nodes; worker process `i` prefers node
 * `i mod 3`. Each worker process runs `children/rabbitmq-cluster-app.ts` (the core worker, `--concurrency` handler
 * slots, ~0.2 ms of CPU per job). Rounds alternate 1, 2, 4, 1, 2, 4, … and the median is reported; the clock runs
 * from 5% of the backlog processed to the last job.
 *
 *   npm run bench:rabbitmq-cluster-scaling -w bench -- [--jobs 10000] [--rounds 2] [--queues 6] [--concurrency 10]
 *
 * On a 2-core machine the three RabbitMQ nodes, this process and the workers share two cores: past 2 processes the
 * speed-up can only come from overlapping waits, not from more CPU.
 */
import { spawn } from 'node:child_process'
import { availableParallelism, loadavg } from 'node:os'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createApp } from '@conveyor/core'
import { createRabbitMQBroker, type RabbitMQBroker } from '@conveyor/rabbitmq'
import { type RabbitMQCluster, startRabbitMQCluster } from '../../../adapters/rabbitmq/test/cluster'
import { median } from '../util/stats'
import { now, sleep } from '../util/time'

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '2' },
    queues: { type: 'string', default: '6' },
    concurrency: { type: 'string', default: '10' },
    processes: { type: 'string', default: '1,2,4' },
  },
})
const jobs = Number(values.jobs)
const rounds = Number(values.rounds)
const queues = Number(values.queues)
const concurrency = Number(values.concurrency)
const levels = values.processes.split(',').map(Number)
const APP = fileURLToPath(new URL('../children/rabbitmq-cluster-app.ts', import.meta.url))
const BENCH_DIR = fileURLToPath(new URL('../..', import.meta.url))

/** Start `count` worker processes; `processed()` sums the counts they last reported. */
async function startWorkers(count: number, env: NodeJS.ProcessEnv) {
  const counts = new Array<number>(count).fill(0)
  const children = Array.from({ length: count }, (_, i) =>
    spawn(process.execPath, ['--import', 'tsx', '--conditions=conveyor-source', APP], {
      cwd: BENCH_DIR,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...env, BENCH_FIRST_NODE: String(i) },
    }),
  )
  await Promise.all(
    children.map(
      (child, i) =>
        new Promise<void>((resolve, reject) => {
          createInterface({ input: child.stdout }).on('line', (line) => {
            const event = JSON.parse(line) as { event: string; processed?: number }
            if (event.event === 'ready') resolve()
            if (event.event === 'progress') counts[i] = event.processed ?? 0
          })
          child.once('exit', (code) => reject(new Error(`[bench] cluster worker exited with ${code} before ready`)))
        }),
    ),
  )
  return { children, processed: () => counts.reduce((sum, n) => sum + n, 0) }
}

/** One round: P processes drain a backlog of `jobs`; jobs/s from 5% done to the last. */
async function measure(cluster: RabbitMQCluster, processes: number, round: number): Promise<number> {
  const prefix = `cvbench-rmq-scaling-${process.pid}-${processes}-${round}`
  const brokers: RabbitMQBroker[] = cluster.urls.map((_, node) =>
    createRabbitMQBroker({
      url: cluster.urls.map((__, i) => cluster.urls[(node + i) % cluster.urls.length]!),
      prefix,
      queueType: 'quorum',
      logger: false,
    }),
  )
  // Queue q declared from node q mod 3: RabbitMQ places a quorum queue's leader on the declaring node.
  for (let q = 0; q < queues; q++) await brokers[q % brokers.length]!.declare({ name: `q${q}`, type: 'quorum' })
  const app = createApp({ broker: brokers[0]!, results: false, logger: false, events: false })
  const tasks = Array.from({ length: queues }, (_, q) => app.task(`bench.cpu.${q}`, async () => 0, { queue: `q${q}` }))
  const per = Math.ceil(jobs / queues)
  for (const [q, task] of tasks.entries()) {
    const mine = Array.from({ length: per }, (_, i) => ({ i: i * queues + q }))
    for (let i = 0; i < mine.length; i += 1000) await task.enqueueMany(mine.slice(i, i + 1000))
  }
  const total = per * queues
  const workers = await startWorkers(processes, {
    BENCH_PREFIX: prefix,
    BENCH_AMQP_URLS: cluster.urls.join(','),
    BENCH_QUEUES: String(queues),
    BENCH_CONCURRENCY: String(concurrency),
  })
  try {
    let from = 0
    for (;;) {
      const done = workers.processed()
      if (from === 0 && done >= total * 0.05) from = now()
      if (done >= total) break
      await sleep(10)
    }
    return (total * 0.95 * 1000) / (now() - from)
  } finally {
    for (const child of workers.children) child.kill('SIGTERM')
    await Promise.all(workers.children.map((child) => new Promise((resolve) => child.once('exit', resolve))))
    await app.close({ timeoutMs: 2_000 })
    await Promise.allSettled(
      brokers.map(async (broker) => {
        await broker.destroy()
      }),
    )
  }
}

console.error('[bench] starting a 3-node RabbitMQ cluster (20–60 s)…')
const cluster = await startRabbitMQCluster({ size: 3 })
try {
  const results = new Map<number, number[]>(levels.map((p) => [p, []]))
  for (let round = 1; round <= rounds; round++) {
    for (const processes of levels) {
      const rate = await measure(cluster, processes, round)
      results.get(processes)!.push(rate)
      console.error(`[bench] round ${round}, ${processes} process(es): ${rate.toFixed(0)} jobs/s`)
    }
  }
  const base = median(results.get(levels[0]!)!)
  console.log(
    `\nRabbitMQ cluster, 3 nodes (local), ${jobs.toLocaleString('en-US')} jobs over ${queues} quorum queues, ` +
      `-c ${concurrency} per process, ~0.2 ms CPU per job, median of ${rounds} alternating rounds; ` +
      `${availableParallelism()} cores, load average ${loadavg()[0]!.toFixed(1)} at the end\n`,
  )
  console.log('| worker processes | jobs/s | speed-up over 1 |')
  console.log('| ---: | ---: | ---: |')
  for (const processes of levels) {
    const rate = median(results.get(processes)!)
    console.log(`| ${processes} | ${rate.toFixed(0)} | ${(rate / base).toFixed(2)}× |`)
  }
} finally {
  await cluster.stop()
}
