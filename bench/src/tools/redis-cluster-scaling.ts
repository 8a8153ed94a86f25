/**
 * Scale-out on a Redis Cluster (issue 17): processing throughput with 1, 2 and 4 worker processes against a local
 * 3-master cluster (started here on free ports in 12000–22000 with the adapter's test harness, stopped at the end),
 * printed as a table with the speed-up over 1 process. The jobs are spread over `--queues` queues (each queue lives
 * on one slot, so one master; several queues put all three masters to work). Each worker process runs
 * `children/cluster-app.ts` (the core worker, `--concurrency` handler slots, ~0.2 ms of CPU per job). Rounds
 * alternate 1, 2, 4, 1, 2, 4, … and the median is reported; the clock runs from 5% of the backlog done to the last.
 * Beside jobs/s, which a loaded machine distorts, it prints CPU per job of the workers and of the servers (from
 * /proc and `INFO cpu`): if those stay flat as processes are added, the speed-up is bounded only by free cores.
 *
 *   npm run bench:redis-cluster-scaling -w bench -- [--jobs 10000] [--rounds 2] [--queues 6] [--concurrency 10]
 *
 * On a 2-core machine the three redis-servers, this process and the workers share two cores: past 2 processes the
 * speed-up can only come from overlapping waits, not from more CPU.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { availableParallelism, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createApp } from '@conveyor/core'
import { createRedisBroker } from '@conveyor/redis'
import { Redis } from 'ioredis'
import { type LocalCluster, startLocalCluster } from '../../../adapters/redis/test/cluster'
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
const APP = fileURLToPath(new URL('../children/cluster-app.ts', import.meta.url))
const BENCH_DIR = fileURLToPath(new URL('../..', import.meta.url))

/** Start `count` worker processes and resolve once each says it consumes. */
async function startWorkers(count: number, env: NodeJS.ProcessEnv) {
  const children = Array.from({ length: count }, () =>
    spawn(process.execPath, ['--import', 'tsx', '--conditions=conveyor-source', APP], {
      cwd: BENCH_DIR,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...env },
    }),
  )
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve, reject) => {
          child.stdout.on('data', (chunk: Buffer) => {
            if (chunk.toString().includes('"ready"')) resolve()
          })
          child.once('exit', (code) => reject(new Error(`[bench] cluster worker exited with ${code} before ready`)))
        }),
    ),
  )
  return children
}

/** CPU seconds a process used so far (utime + stime from /proc, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** CPU seconds the cluster's servers used so far (`INFO cpu` of every node). */
async function serverCpu(cluster: LocalCluster): Promise<number> {
  let total = 0
  for (const { port } of cluster.nodes) {
    const node = new Redis({ port, host: '127.0.0.1' })
    const info = await node.info('cpu')
    node.disconnect()
    total += Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1])
  }
  return total
}

interface Round {
  readonly jobsPerSec: number
  /** Worker processes' CPU per job, ms: load-independent, unlike jobs/s. */
  readonly workerCpuMs: number
  /** The three redis-servers' CPU per job, ms. */
  readonly serverCpuMs: number
}

/** One round: P processes drain a backlog of `jobs`; jobs/s from 5% done to the last, CPU per job over the round. */
async function measure(cluster: LocalCluster, processes: number, round: number): Promise<Round> {
  const prefix = `cvbench-cluster-scaling-${process.pid}-${processes}-${round}`
  const env = {
    BENCH_PREFIX: prefix,
    BENCH_CLUSTER_PORTS: cluster.nodes.map((n) => n.port).join(','),
    BENCH_QUEUES: String(queues),
    BENCH_CONCURRENCY: String(concurrency),
  }
  const broker = createRedisBroker({ cluster: { nodes: cluster.nodes }, prefix, logger: false })
  const app = createApp({ broker, results: false, logger: false, events: false })
  const tasks = Array.from({ length: queues }, (_, q) => app.task(`bench.cpu.${q}`, async () => 0, { queue: `q${q}` }))
  const children = await startWorkers(processes, env)
  const workerCpuBefore = children.reduce((sum, child) => sum + cpuSeconds(child.pid), 0)
  const serverCpuBefore = await serverCpu(cluster)
  try {
    for (const [q, task] of tasks.entries()) {
      const mine = Array.from({ length: Math.ceil(jobs / queues) }, (_, i) => ({ i: i * queues + q }))
      for (let i = 0; i < mine.length; i += 1000) await task.enqueueMany(mine.slice(i, i + 1000))
    }
    const total = Math.ceil(jobs / queues) * queues
    const left = async () => {
      const stats = await Promise.all(tasks.map((_, q) => broker.stats(`q${q}`)))
      return stats.reduce((sum, s) => sum + s.ready + s.inFlight, 0)
    }
    let from = 0
    for (;;) {
      const remaining = await left()
      if (from === 0 && remaining <= total * 0.95) from = now()
      if (remaining === 0) break
      await sleep(10)
    }
    const jobsPerSec = (total * 0.95 * 1000) / (now() - from)
    const workerCpu = children.reduce((sum, child) => sum + cpuSeconds(child.pid), 0) - workerCpuBefore
    const serverCpuUsed = (await serverCpu(cluster)) - serverCpuBefore
    return { jobsPerSec, workerCpuMs: (workerCpu * 1000) / total, serverCpuMs: (serverCpuUsed * 1000) / total }
  } finally {
    for (const child of children) child.kill('SIGTERM')
    await Promise.all(children.map((child) => new Promise((resolve) => child.once('exit', resolve))))
    await app.close({ timeoutMs: 2_000 })
  }
}

const cluster = await startLocalCluster()
try {
  const results = new Map<number, Round[]>(levels.map((p) => [p, []]))
  for (let round = 1; round <= rounds; round++) {
    for (const processes of levels) {
      const result = await measure(cluster, processes, round)
      results.get(processes)!.push(result)
      console.error(`[bench] round ${round}, ${processes} process(es): ${result.jobsPerSec.toFixed(0)} jobs/s`)
    }
  }
  const med = (processes: number, field: keyof Round) => median(results.get(processes)!.map((r) => r[field]))
  const base = med(levels[0]!, 'jobsPerSec')
  console.log(
    `\nRedis Cluster, 3 masters (local), ${jobs.toLocaleString('en-US')} jobs over ${queues} queues, ` +
      `-c ${concurrency} per process, ~0.2 ms CPU per job, median of ${rounds} alternating rounds; ` +
      `${availableParallelism()} cores, load average ${loadavg()[0]!.toFixed(1)} at the end\n`,
  )
  console.log('| worker processes | jobs/s | speed-up over 1 | worker CPU ms/job | redis CPU ms/job |')
  console.log('| ---: | ---: | ---: | ---: | ---: |')
  for (const processes of levels) {
    const rate = med(processes, 'jobsPerSec')
    const cpu = `${med(processes, 'workerCpuMs').toFixed(3)} | ${med(processes, 'serverCpuMs').toFixed(3)}`
    console.log(`| ${processes} | ${rate.toFixed(0)} | ${(rate / base).toFixed(2)}× | ${cpu} |`)
  }
} finally {
  await cluster.stop()
}
