/**
 * Task history at scale (issue 13): write N runs (default 1,000,000) into the Redis task history of a private
 * redis-server (started here on a free port in 12000–22000, stopped at the end), then time the first pages a
 * dashboard asks for and print this process's RSS. Opt-in and long: `npx tsx --conditions=conveyor-source
 * bench/src/tools/history-million.ts [N]`.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ConveyorEvent } from '@conveyor/core'
import { createRedisTaskHistory } from '@conveyor/redis'

const runs = Number(process.argv[2] ?? 1_000_000)
const port = 12000 + Math.floor(Math.random() * 10_000)
const dir = mkdtempSync(join(tmpdir(), 'cv-history-'))
const server = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir], {
  stdio: 'ignore',
})
await new Promise((resolve) => setTimeout(resolve, 500))
const history = createRedisTaskHistory({
  url: `redis://127.0.0.1:${port}`,
  prefix: 'million',
  retention: { maxRuns: runs, maxAgeMs: 7 * 86_400_000 },
})
try {
  const started = Date.now()
  const t0 = Date.now() - runs
  for (let i = 0; i < runs; i += 1000) {
    const batch: ConveyorEvent[] = []
    for (let n = i; n < Math.min(runs, i + 1000); n++) {
      const base = { id: `run-${n}`, task: `task.${n % 20}`, queue: `q${n % 5}`, attempt: 1 }
      batch.push({ type: 'task.enqueued', ...base, at: t0 + n, priority: 0, maxAttempts: 3, input: `{"n":${n}}` })
      if (n % 10 === 0) {
        const error = { name: 'Error', message: `failure ${n}` }
        batch.push({ type: 'task.failed', ...base, at: t0 + n + 5, durationMs: 5, error })
      } else {
        batch.push({ type: 'task.succeeded', ...base, at: t0 + n + 5, durationMs: 5 })
      }
    }
    await history.record(batch)
    if (i % 100_000 === 0) process.stdout.write(`written ${i.toLocaleString('en-US')} runs\n`)
  }
  process.stdout.write(`wrote ${runs.toLocaleString('en-US')} runs in ${Date.now() - started} ms\n`)
  process.stdout.write(`kept: ${(await history.count()).toLocaleString('en-US')} runs\n`)
  const timed = async (label: string, query: Parameters<typeof history.list>[0]) => {
    const from = performance.now()
    const page = await history.list(query)
    process.stdout.write(`${label}: ${page.runs.length} runs in ${(performance.now() - from).toFixed(1)} ms\n`)
  }
  await timed('first page (all)', { limit: 50 })
  await timed('first page (failed)', { state: 'failed', limit: 50 })
  await timed('first page (task.7, failed)', { task: 'task.7', state: 'failed', limit: 50 })
  await timed('search by id', { search: `run-${runs - 3}`, limit: 50 })
  process.stdout.write(`RSS of this process: ${(process.memoryUsage.rss() / 1e6).toFixed(1)} MB\n`)
} finally {
  await history.close()
  server.kill('SIGTERM')
  await new Promise((resolve) => server.once('exit', resolve))
  rmSync(dir, { recursive: true, force: true })
}
