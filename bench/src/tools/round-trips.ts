/**
 * Load-independent cost of processing on Redis (issue 18): drain a backlog with each Redis system against a private
 * redis-server (started here on a free port in 12000–22000, stopped at the end) and print, per job, the commands the
 * server ran (`INFO commandstats` deltas: top-level calls and the commands scripts ran inside them), the server's
 * CPU (`used_cpu_user + used_cpu_sys` deltas) and this process's CPU. Round trips per job is what bounds
 * concurrency 1; none of these numbers moves with the machine's load the way jobs/s does.
 *
 *   npx tsx --conditions=conveyor-source bench/src/tools/round-trips.ts [--jobs 2000] [--concurrency 1,50]
 *       [--only conveyor-redis,bullmq,raw-redis]
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import type { Redis } from 'ioredis'
import { jobs } from '../scenarios/context'
import { pickSystems } from '../systems/index'
import { redisClient } from '../util/redis'
import { sleep, waitFor } from '../util/time'

const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '1,50' },
    only: { type: 'string', default: 'conveyor-redis,bullmq,raw-redis' },
  },
})
const n = Number(values.jobs)
const levels = values.concurrency.split(',').map(Number)
const systems = pickSystems(values.only.split(',')).filter((s) => s.broker === 'redis')

/** Script-internal and top-level calls by command, and the server's CPU seconds. */
async function serverStats(redis: Redis): Promise<{ calls: Map<string, number>; cpu: number }> {
  const calls = new Map<string, number>()
  for (const line of (await redis.info('commandstats')).split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line)
    if (match) calls.set(match[1]!, Number(match[2]))
  }
  const cpuInfo = await redis.info('cpu')
  const user = Number(/used_cpu_user:([\d.]+)/.exec(cpuInfo)?.[1] ?? 0)
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(cpuInfo)?.[1] ?? 0)
  return { calls, cpu: user + sys }
}

/** Commands a client sends itself (each one at least part of a round trip), as opposed to those scripts run. */
const TOP_LEVEL = new Set(['evalsha', 'eval', 'blpop', 'blmove', 'bzpopmin', 'brpoplpush', 'xreadgroup', 'xread'])

const port = 12000 + Math.floor(Math.random() * 10_000)
const dir = mkdtempSync(join(tmpdir(), 'cv-roundtrips-'))
const server = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir], {
  stdio: 'ignore',
})
const url = `redis://127.0.0.1:${port}`
try {
  await sleep(400)
  const admin = redisClient(url, 'roundtrips-admin')
  const env = { redisUrl: url, amqpUrl: '' }
  console.log(`${n} jobs per run, private redis-server on ${port}`)
  for (const concurrency of levels) {
    for (const system of systems) {
      const instance = await system.create(env)
      try {
        await instance.fill(jobs(n))
        let done = 0
        await admin.config('RESETSTAT')
        const before = await serverStats(admin)
        const cpu = process.cpuUsage()
        const consumer = await instance.consume(concurrency, { onDone: () => done++ })
        await waitFor(() => done >= n, `${n} completions`, 120_000, 2)
        const client = process.cpuUsage(cpu)
        await consumer.stop()
        const after = await serverStats(admin)
        const perJob = [...after.calls]
          .filter(([name]) => name !== 'info' && name !== 'config')
          .map(([name, calls]) => [name, (calls - (before.calls.get(name) ?? 0)) / n] as const)
          .filter(([, v]) => v > 0.001)
          .sort((a, b) => b[1] - a[1])
        const topLevel = perJob.filter(([name]) => TOP_LEVEL.has(name)).reduce((s, [, v]) => s + v, 0)
        console.log(
          `c${concurrency} ${system.id}: client CPU ${((client.user + client.system) / n).toFixed(1)} µs/job ` +
            `(${(client.system / n).toFixed(1)} in the kernel), ` +
            `server CPU ${(((after.cpu - before.cpu) * 1e6) / n).toFixed(1)} µs/job, scripts+blocking ${topLevel.toFixed(3)}/job`,
        )
        console.log(`    ${perJob.map(([name, v]) => `${name} ${v.toFixed(3)}`).join(', ')}`)
      } finally {
        await instance.close()
      }
    }
  }
  await admin.quit()
} finally {
  server.kill('SIGTERM')
  await sleep(200)
  rmSync(dir, { recursive: true, force: true })
}
process.exit(0)
