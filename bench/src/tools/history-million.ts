/**
 * Task history at scale (issue 13): N runs (default 1,000,000) in the Redis task history, the first pages timed
 * straight from the history, then the real dashboard process started on it (`conveyor dashboard --broker …
 * --results …`, the built CLI when there is one, else its sources under tsx): the first tasks page as a user opens it
 * (the first request after start, then the median of several), the filtered pages and the overview, and that
 * process's RSS (current and peak, from /proc) after it has served them and sampled for a few seconds.
 *
 * Opt-in and long (filling a million runs takes minutes on a loaded machine):
 *   npx tsx --conditions=conveyor-source bench/src/tools/history-million.ts [N]
 *     a private redis-server (a free port in 12000–22000), filled, measured, stopped.
 *   … history-million.ts [N] --url redis://127.0.0.1:17391 [--prefix million] [--drop]
 *     a server you run: fills the prefix only up to N runs (a second run reuses the fill and only measures);
 *     `--drop` deletes the prefix's history keys at the end (SCAN + UNLINK of that prefix only, never FLUSHALL).
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { ConveyorEvent, TaskHistory } from '@conveyor/core'
import { createRedisTaskHistory, historyTag } from '@conveyor/redis'
import { Redis } from 'ioredis'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { url: { type: 'string' }, prefix: { type: 'string', default: 'million' }, drop: { type: 'boolean' } },
})
const runs = Number(positionals[0] ?? 1_000_000)
const prefix = values.prefix ?? 'million'
const ROUNDS = 9
const out = (line: string) => process.stdout.write(`${line}\n`)
const load = () =>
  loadavg()
    .map((n) => n.toFixed(1))
    .join(' ')

const server = values.url === undefined ? await startPrivateServer() : undefined
const url = values.url ?? `redis://127.0.0.1:${server!.port}`
const history = createRedisTaskHistory({ url, prefix, retention: { maxRuns: runs, maxAgeMs: 7 * 86_400_000 } })
try {
  await fill(history, runs)
  out(`kept: ${(await history.count()).toLocaleString('en-US')} runs; load average ${load()}`)
  await measureHistory(history, runs)
  out(`RSS of this (writing) process: ${(process.memoryUsage.rss() / 1e6).toFixed(1)} MB`)
  await measureDashboard(`${url}${url.includes('?') ? '&' : '?'}prefix=${prefix}`, runs)
  out(`load average at the end ${load()}`)
} finally {
  await history.close()
  if (values.drop) await dropPrefix(url, prefix)
  await server?.stop()
}

/** Write runs until the history holds `total` (a partial or complete earlier fill of the same prefix is reused). */
async function fill(into: TaskHistory, total: number): Promise<void> {
  const kept = await into.count()
  if (kept >= total) {
    out(`reusing ${kept.toLocaleString('en-US')} runs already under prefix ${prefix}`)
    return
  }
  const started = Date.now()
  const t0 = Date.now() - total
  for (let i = Math.floor(kept / 1000) * 1000; i < total; i += 1000) {
    const batch: ConveyorEvent[] = []
    for (let n = i; n < Math.min(total, i + 1000); n++) {
      const base = { id: `run-${n}`, task: `task.${n % 20}`, queue: `q${n % 5}`, attempt: 1 }
      batch.push({ type: 'task.enqueued', ...base, at: t0 + n, priority: 0, maxAttempts: 3, input: `{"n":${n}}` })
      if (n % 10 === 0) {
        const error = { name: 'Error', message: `failure ${n}` }
        batch.push({ type: 'task.failed', ...base, at: t0 + n + 5, durationMs: 5, error })
      } else {
        batch.push({ type: 'task.succeeded', ...base, at: t0 + n + 5, durationMs: 5 })
      }
    }
    await into.record(batch)
    if (i % 100_000 === 0) out(`written ${i.toLocaleString('en-US')} runs`)
  }
  out(`wrote ${(total - kept).toLocaleString('en-US')} runs in ${Date.now() - started} ms`)
}

/** Pages straight from the history (no HTTP): the median of several calls each. */
async function measureHistory(from: TaskHistory, total: number): Promise<void> {
  const timed = async (label: string, query: Parameters<TaskHistory['list']>[0]) => {
    const ms: number[] = []
    let found = 0
    for (let i = 0; i < ROUNDS; i++) {
      const t = performance.now()
      found = (await from.list(query)).runs.length
      ms.push(performance.now() - t)
    }
    out(`history ${label}: ${found} runs, median ${median(ms).toFixed(1)} ms of ${ROUNDS}`)
  }
  await timed('first page (all)', { limit: 50 })
  await timed('first page (failed)', { state: 'failed', limit: 50 })
  await timed('first page (task.10, failed)', { task: 'task.10', state: 'failed', limit: 50 })
  await timed('first page (task.7, failed: no match)', { task: 'task.7', state: 'failed', limit: 50 })
  await timed('first page (q3, failed)', { queue: 'q3', state: 'failed', limit: 50 })
  await timed('search by id', { search: `run-${total - 3}`, limit: 50 })
  await timed('search by input text', { search: `"n":${total - 7}}`, limit: 50 })
}

/** Start the dashboard process on the history, ask it for the pages a user opens first, and print its RSS. */
async function measureDashboard(brokerUrl: string, total: number): Promise<void> {
  await warmClient()
  const cli = fileURLToPath(new URL('../../../packages/cli/', import.meta.url))
  const built = join(cli, 'dist/bin.js')
  const args = existsSync(built)
    ? [built]
    : ['--import', 'tsx', '--conditions=conveyor-source', join(cli, 'src/bin.ts')]
  const child = spawn(
    process.execPath,
    [...args, 'dashboard', '--broker', brokerUrl, '--results', brokerUrl, '--port', '0'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  try {
    const base = await listening(child)
    out(`dashboard (${existsSync(built) ? 'built CLI' : 'CLI sources under tsx'}) pid ${child.pid}`)
    const get = async (path: string) => {
      const from = performance.now()
      const response = await fetch(new URL(path, base))
      const text = await response.text()
      const runs = path.startsWith('api/tasks') ? (JSON.parse(text) as { runs: unknown[] }).runs.length : undefined
      return { ms: performance.now() - from, size: runs !== undefined ? `${runs} runs` : `HTTP ${response.status}` }
    }
    // What a browser opening the tasks page asks for, in order: the page, its assets, the settings, the first page
    // of runs. The first open after start is the cold one; the tasks request is "the first page".
    const open = async () => {
      const from = performance.now()
      const steps: string[] = []
      for (const path of ['', 'assets/app.js', 'assets/app.css', 'api/meta']) {
        steps.push(`${path || 'page'} ${(await get(path)).ms.toFixed(0)}`)
      }
      const tasks = await get('api/tasks?limit=50')
      return { tasks, total: performance.now() - from, steps: steps.join(', ') }
    }
    const first = await open()
    out(
      `dashboard first page, first open after start: api/tasks ${first.tasks.size} in ${first.tasks.ms.toFixed(1)} ms ` +
        `(the whole open ${first.total.toFixed(1)} ms: ${first.steps}, tasks ${first.tasks.ms.toFixed(0)} ms)`,
    )
    const opens: { tasks: number; total: number }[] = []
    for (let i = 0; i < ROUNDS; i++) {
      const again = await open()
      opens.push({ tasks: again.tasks.ms, total: again.total })
    }
    out(
      `dashboard first page, ${ROUNDS} more opens: api/tasks median ${median(opens.map((o) => o.tasks)).toFixed(1)} ms ` +
        `(max ${Math.max(...opens.map((o) => o.tasks)).toFixed(1)}); whole open median ${median(opens.map((o) => o.total)).toFixed(1)} ms`,
    )
    const series = async (label: string, path: string) => {
      const ms: number[] = []
      let size = ''
      for (let i = 0; i < ROUNDS; i++) {
        const answer = await get(path)
        ms.push(answer.ms)
        size = answer.size
      }
      out(
        `dashboard ${label}: ${size}, median ${median(ms).toFixed(1)} ms of ${ROUNDS} (max ${Math.max(...ms).toFixed(1)})`,
      )
    }
    await series('overview', 'api/overview')
    await series('first failed page', 'api/tasks?state=failed&limit=50')
    await series('task.10 + failed', 'api/tasks?task=task.10&state=failed&limit=50')
    await series('task.7 + failed (no match)', 'api/tasks?task=task.7&state=failed&limit=50')
    await series('q3 + failed', 'api/tasks?queue=q3&state=failed&limit=50')
    await series('last hour', 'api/tasks?window=3600&limit=50')
    await series('search by id', `api/tasks?q=run-${total - 3}&limit=50`)
    // A few samples of its charts (one every 5 s) and its live reader running, as with a page open.
    await new Promise((resolve) => setTimeout(resolve, 12_000))
    await series('first tasks page (after 12 s)', 'api/tasks?limit=50')
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN)
    out(
      `dashboard process RSS: ${(kb('VmRSS') / 1024).toFixed(1)} MiB now, ${(kb('VmHWM') / 1024).toFixed(1)} MiB peak ` +
        `(${total.toLocaleString('en-US')} runs in retention)`,
    )
  } finally {
    child.kill('SIGTERM')
    await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)))
  }
}

/**
 * Load this process's own HTTP client (Node's fetch loads undici on first use: 100-300 ms on a loaded machine) against
 * a throwaway local server, so the dashboard's first answer is not charged with the measuring client's start-up.
 */
async function warmClient(): Promise<void> {
  const server = createServer((_, res) => res.end('ok'))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await (await fetch(`http://127.0.0.1:${port}/`)).text()
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
}

function listening(child: ReturnType<typeof spawn>): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let text = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString()
      const match = /listening on (\S+)/.exec(text)
      if (match) resolve(match[1]!.endsWith('/') ? match[1]! : `${match[1]}/`)
    })
    child.once('exit', (code) => reject(new Error(`the dashboard exited (${code}) before listening: ${text}`)))
  })
}

async function startPrivateServer() {
  const port = 12000 + Math.floor(Math.random() * 10_000)
  const dir = mkdtempSync(join(tmpdir(), 'cv-history-'))
  const proc = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: 'ignore',
  })
  await new Promise((resolve) => setTimeout(resolve, 500))
  return {
    port,
    async stop() {
      proc.kill('SIGTERM')
      await new Promise((resolve) => (proc.exitCode !== null ? resolve(undefined) : proc.once('exit', resolve)))
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Delete this prefix's history keys (and nothing else) from a server we did not start. */
async function dropPrefix(serverUrl: string, name: string): Promise<void> {
  const client = new Redis(serverUrl)
  try {
    let removed = 0
    const stream = client.scanStream({ match: `${historyTag(name)}:*`, count: 1000 })
    for await (const keys of stream as AsyncIterable<string[]>) {
      if (keys.length > 0) removed += await client.unlink(...keys)
    }
    out(`dropped ${removed.toLocaleString('en-US')} keys under ${historyTag(name)}`)
  } finally {
    client.disconnect()
  }
}
