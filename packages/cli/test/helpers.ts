import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { App, ConveyorEvent } from '@conveyor/core'
import { deletePrefix, REDIS_URL, rawRedis, sleep } from '@conveyor/test-support'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, vi } from 'vitest'
import { type Bundle, bundleCli } from './bundle'

export const ROOT = resolve(fileURLToPath(new URL('../../..', import.meta.url)))
export const BIN = join(ROOT, 'packages/cli/src/bin.ts')
export const REDIS_APP = join(ROOT, 'packages/cli/test/fixtures/redis-app.ts')
export const RABBIT_APP = join(ROOT, 'packages/cli/test/fixtures/rabbitmq-app.ts')

/** A fresh key prefix and journal file per test, so tests run in parallel against one Redis. */
export function sandbox(what: string) {
  const prefix = `cvtest-cli-${what}-${randomUUID().slice(0, 8)}`
  const dir = mkdtempSync(join(tmpdir(), `conveyor-${what}-`))
  const journal = join(dir, 'journal.jsonl')
  const env = { TEST_PREFIX: prefix, TEST_JOURNAL: journal, CONVEYOR_REDIS_URL: REDIS_URL }
  return {
    prefix,
    dir,
    env,
    /** What the fixture's tasks noted, one object per line. */
    journal: (): Record<string, unknown>[] =>
      existsSync(journal)
        ? readFileSync(journal, 'utf8')
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => JSON.parse(l) as Record<string, unknown>)
        : [],
  }
}

export interface Run {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Run `conveyor …` (the real bin under tsx, as a user would) to the end. */
export function conveyor(args: readonly string[], env: Record<string, string> = {}, timeoutMs = 40_000): Promise<Run> {
  const child = start(args, env)
  return new Promise((resolveRun, reject) => {
    const timer = setTimeout(() => {
      child.process.kill('SIGKILL')
      reject(
        new Error(
          `conveyor ${args.join(' ')} did not finish in ${timeoutMs} ms:\n${child.stdout()}\n${child.stderr()}`,
        ),
      )
    }, timeoutMs)
    child.process.on('exit', (code) => {
      clearTimeout(timer)
      // Let the pipes drain.
      setImmediate(() => resolveRun({ code, stdout: child.stdout(), stderr: child.stderr() }))
    })
  })
}

/**
 * Run `conveyor …` in this process through `runCli`: the same code as the bin without a process start (about a
 * CPU-second each under tsx, which is most of these tests' time on a loaded machine). The module registry is reset
 * first so an `--app` module is evaluated afresh — with `env` in place — as it would be in a new process (commands
 * close the app they loaded).
 */
export async function conveyorInProcess(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  const vars = { TEST_LOG_LEVEL: 'warn', ...env }
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
  Object.assign(process.env, vars)
  vi.resetModules()
  let stdout = ''
  let stderr = ''
  try {
    const { runCli } = await import('@conveyor/cli')
    const io = { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } }
    const code = await runCli(args, { ...io, env: { ...process.env } as Record<string, string>, cwd: ROOT })
    return { code, stdout, stderr }
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}

const live = new Set<ChildProcess>()
let bundle: Bundle | undefined

/**
 * Build the bin and the fixture apps as plain JS (see bundle.ts) for this test file: `start` then runs them without
 * tsx, and the supervisor's children start from them too. Call in beforeAll; `killLeftovers` removes it.
 */
export async function useBundle(extraApps: Readonly<Record<string, string>> = {}): Promise<void> {
  const apps = { redis: REDIS_APP, rabbitmq: RABBIT_APP, ...extraApps }
  bundle ??= await bundleCli(ROOT, apps)
  for (const [name, path] of Object.entries(apps)) bundledApps.set(path, name)
}

/** Source path of each bundled app module → its name in the bundle. */
const bundledApps = new Map<string, string>()

/** The app module a started process should load: the bundled one once `useBundle` ran. */
export function appModule(path: string): string {
  const name = bundledApps.get(path)
  if (bundle === undefined || name === undefined) return path
  return bundle.apps[name] ?? path
}

/**
 * Kill whatever a failed test left running (call in afterAll), and remove the bundle. The worker children notice
 * their supervisor's IPC channel close and drain on their own.
 */
export async function killLeftovers(): Promise<void> {
  for (const proc of live) proc.kill('SIGKILL')
  live.clear()
  await bundle?.remove()
  bundle = undefined
}

export interface Started {
  readonly process: ChildProcess
  stdout(): string
  stderr(): string
  /** pino lines the processes wrote (supervisor and workers share stdout). */
  logs(): Record<string, unknown>[]
  /** Resolve with the first log line matching, or reject after `timeoutMs`. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>
  readonly exited: Promise<number | null>
  signal(signal: NodeJS.Signals): void
}

/**
 * Start a long-running `conveyor …` (worker, scheduler): from the bundle when `useBundle` ran, else from the sources.
 * `node --import tsx` rather than the `tsx` wrapper: the wrapper relays signals and SIGKILLs a child that does not
 * acknowledge one within 30 ms, which a busy CI machine turns into random exit codes 143; with the loader, signals
 * reach the supervisor itself.
 */
export function start(args: readonly string[], env: Record<string, string> = {}): Started {
  const argv = bundle
    ? [bundle.bin, ...args.map(appModule)]
    : ['--import', 'tsx', '--conditions=conveyor-source', BIN, ...args]
  const proc = spawn(process.execPath, argv, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  live.add(proc)
  proc.on('exit', () => live.delete(proc))
  let out = ''
  let err = ''
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString()
  })
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString()
  })
  const exited = new Promise<number | null>((r) => proc.on('exit', (code) => setImmediate(() => r(code))))
  const logs = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>
        } catch {
          return {}
        }
      })
  return {
    process: proc,
    stdout: () => out,
    stderr: () => err,
    logs,
    exited,
    signal: (s) => proc.kill(s),
    async waitForLog(match, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const found = logs().find(match)
        if (found) return found
        if (Date.now() > deadline) throw new Error(`no matching log line in ${timeoutMs} ms:\n${out}\n${err}`)
        await sleep(20)
      }
    },
  }
}

/**
 * Read the app's event stream from its start (in this process: a second process to the worker) until `done` holds;
 * gives up after `timeoutMs` with what it saw.
 */
export async function readEvents(
  app: App,
  done: (events: ConveyorEvent[]) => boolean,
  timeoutMs = 30_000,
): Promise<ConveyorEvent[]> {
  const seen: ConveyorEvent[] = []
  for await (const stored of app.events.subscribe({ from: 'start', signal: AbortSignal.timeout(timeoutMs) })) {
    seen.push(stored.event)
    if (done(seen)) break
  }
  return seen
}

/** The test's own producer on the sandbox prefix: enqueue by task name, read results and queue counts. */
export async function producer(prefix: string) {
  const { createApp } = await import('@conveyor/core')
  const { createRedisBroker, createRedisResultBackend } = await import('@conveyor/redis')
  return createApp({
    broker: createRedisBroker({ url: REDIS_URL, prefix, leaseMs: 1000, logger: false }),
    results: createRedisResultBackend({ url: REDIS_URL, prefix, logger: false }),
    logger: false,
    events: true, // its workers' runs show in the stream and the history the commands read
  })
}

/**
 * The per-file setup of the CLI tests on Redis: a raw connection, the CLI bundle, and `setup(what)` giving each test
 * its own namespace and a producer app, all removed after the file (leftover processes killed first).
 */
export function redisSandboxes() {
  let redis: Redis | undefined
  const cleanup: (() => Promise<void>)[] = []
  beforeAll(async () => {
    redis = await rawRedis()
    await useBundle()
  })
  afterAll(async () => {
    await killLeftovers()
    for (const fn of cleanup) await fn().catch(() => undefined)
    await redis?.quit().catch(() => redis?.disconnect())
  })
  return {
    /** The raw connection (available from beforeAll on). */
    get redis(): Redis {
      if (redis === undefined) throw new Error('redisSandboxes: the raw connection is made in beforeAll')
      return redis
    },
    /** Run `fn` after the file, with the sandboxes' own cleanup. */
    defer(fn: () => Promise<void>): void {
      cleanup.push(fn)
    },
    async setup(what: string) {
      const box = sandbox(what)
      const app = await producer(box.prefix)
      cleanup.push(async () => {
        await app.close()
        await deletePrefix(redis!, box.prefix)
      })
      return { ...box, app }
    },
  }
}
