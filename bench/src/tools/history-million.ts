/**
 * Task history at scale (issue 13): write N runs (default 1,000,000) into the Redis task history of a private
 * redis-server (started here on a free port in 12000–22000, stopped at the end), time the first pages straight from
 * the history, then start the real dashboard process on it (`conveyor dashboard --broker … --results …`, the built CLI
 * when there is one, else its sources under tsx) and print what its API answers in and that process's RSS (current
 * and peak, from /proc) after it has served the pages and sampled for a few seconds. Opt-in and long:
 * `npx tsx --conditions=conveyor-source bench/src/tools/history-million.ts [N]`.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
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
  process.stdout.write(`RSS of this (writing) process: ${(process.memoryUsage.rss() / 1e6).toFixed(1)} MB\n`)
  await measureDashboard(`redis://127.0.0.1:${port}?prefix=million`, runs)
} finally {
  await history.close()
  server.kill('SIGTERM')
  await new Promise((resolve) => server.once('exit', resolve))
  rmSync(dir, { recursive: true, force: true })
}

/** Start the dashboard process on the history, ask it for the pages a user opens first, and print its RSS. */
async function measureDashboard(url: string, total: number): Promise<void> {
  const cli = fileURLToPath(new URL('../../../packages/cli/', import.meta.url))
  const built = join(cli, 'dist/bin.js')
  const args = existsSync(built)
    ? [built]
    : ['--import', 'tsx', '--conditions=conveyor-source', join(cli, 'src/bin.ts')]
  const child = spawn(process.execPath, [...args, 'dashboard', '--broker', url, '--results', url, '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  try {
    const base = await new Promise<string>((resolve, reject) => {
      let out = ''
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        const match = /listening on (\S+)/.exec(out)
        if (match) resolve(match[1]!.endsWith('/') ? match[1]! : `${match[1]}/`)
      })
      child.once('exit', (code) => reject(new Error(`the dashboard exited (${code}) before listening: ${out}`)))
    })
    process.stdout.write(`dashboard (${existsSync(built) ? 'built CLI' : 'CLI sources under tsx'}) pid ${child.pid}\n`)
    const get = async (label: string, path: string) => {
      const from = performance.now()
      const response = await fetch(new URL(path, base))
      const body = (await response.json()) as { runs?: unknown[] }
      const ms = performance.now() - from
      const size = body.runs ? `${body.runs.length} runs` : `HTTP ${response.status}`
      process.stdout.write(`dashboard ${label}: ${size} in ${ms.toFixed(1)} ms\n`)
    }
    for (const round of ['cold', 'warm']) {
      await get(`first tasks page (${round})`, 'api/tasks?limit=50')
      await get(`first failed page (${round})`, 'api/tasks?state=failed&limit=50')
    }
    await get('task.7, failed', 'api/tasks?task=task.7&state=failed&limit=50')
    await get('search by id', `api/tasks?q=run-${total - 3}&limit=50`)
    await get('overview', 'api/overview')
    await get('queues', 'api/queues')
    // A few samples of its charts (one every 5 s) and its live reader running, as with a page open.
    await new Promise((resolve) => setTimeout(resolve, 12_000))
    await get('first tasks page (after 12 s)', 'api/tasks?limit=50')
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN)
    process.stdout.write(
      `dashboard process RSS: ${(kb('VmRSS') / 1024).toFixed(1)} MiB now, ${(kb('VmHWM') / 1024).toFixed(1)} MiB peak ` +
        `(${total.toLocaleString('en-US')} runs in retention)\n`,
    )
  } finally {
    child.kill('SIGTERM')
    await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)))
  }
}
