/**
 * Where concurrency 1 spends its client CPU on Redis (issue 18): the same backlog drained by the adapter alone
 * (`broker.consume`, prefetch 1, ack at once) and by an app worker on the same adapter (concurrency 1), alternating,
 * against a private redis-server (free port in 12000–22000, stopped at the end). The difference is core's share.
 *
 *   npx tsx --conditions=conveyor-source bench/src/tools/redis-c1-split.ts [jobs] [rounds]
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp } from '@conveyor/core'
import { createRedisBroker } from '@conveyor/redis'
import { sleep, waitFor } from '../util/time'

const n = Number(process.argv[2] ?? 3000)
const rounds = Number(process.argv[3] ?? 3)
const port = 12000 + Math.floor(Math.random() * 10_000)
const dir = mkdtempSync(join(tmpdir(), 'cv-c1split-'))
const server = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir], {
  stdio: 'ignore',
})
const url = `redis://127.0.0.1:${port}`

async function drain(mode: 'adapter' | 'app', prefix: string): Promise<void> {
  const broker = createRedisBroker({ url, prefix, logger: false })
  const app = createApp({ broker, results: false, logger: false, events: false, defaults: { queue: 'q' } })
  const task = app.task('split.noop', async () => undefined)
  for (let i = 0; i < n; i += 1000) {
    await task.enqueueMany(Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({ i: i + j })))
  }
  let done = 0
  const cpu = process.cpuUsage()
  const started = performance.now()
  if (mode === 'adapter') {
    await broker.consume('q', (delivery) => void delivery.ack().then(() => done++), { prefetch: 1 })
  } else {
    app.events.on('task.succeeded', () => done++)
    await app.worker({ queues: ['q'], concurrency: 1 }).start()
  }
  await waitFor(() => done >= n, `${n} jobs`, 120_000, 5)
  const used = process.cpuUsage(cpu)
  const rate = Math.round(n / ((performance.now() - started) / 1000))
  console.log(
    `${mode.padEnd(7)} client CPU ${((used.user + used.system) / n).toFixed(1)} µs/job (${(used.system / n).toFixed(1)} kernel), ${rate} jobs/s`,
  )
  await app.close({ timeoutMs: 5_000 })
}

try {
  await sleep(400)
  for (let round = 0; round < rounds; round++) {
    await drain('adapter', `split-a${round}`)
    await drain('app', `split-w${round}`)
  }
} finally {
  server.kill('SIGTERM')
  await sleep(200)
  rmSync(dir, { recursive: true, force: true })
}
process.exit(0)
