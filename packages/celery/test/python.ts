import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** Child processes a test started: killed when the test process exits, even after a timeout skipped their stop. */
const children = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL')
})

/** Track a child so that it never outlives the test process. */
export function ownChild(child: ChildProcess): ChildProcess {
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

/** Debian's interpreter, where `python3-celery` is installed (not a pyenv `python3` on PATH). */
export const PYTHON = '/usr/bin/python3'
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url))

/** Fail loudly (never skip) when Debian's Celery is missing. */
export function requireCelery(): void {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: apt-get install python3-celery python3-redis`)
}

/** Environment of the Python side: its broker, result backend and queue. */
export interface CeleryEnv {
  readonly broker: string
  readonly backend: string
  readonly queue: string
  /** Celery's `task_protocol`: 2 (default) or 1 (Celery 3's, for the bad-input tests). */
  readonly protocol?: 1 | 2
}

function pythonEnv(env: CeleryEnv): NodeJS.ProcessEnv {
  const { PYTHONHOME: _home, PYTHONPATH: _path, ...rest } = process.env
  return {
    ...rest,
    PYTHONPATH: FIXTURES,
    CELERY_BROKER_URL: env.broker,
    CELERY_RESULT_BACKEND: env.backend,
    CELERY_QUEUE: env.queue,
    CELERY_TASK_PROTOCOL: String(env.protocol ?? 2),
  }
}

/** What `celery_app.py call` prints: what Python's `AsyncResult.get()` saw. */
export interface PythonCall {
  readonly id: string
  readonly status: string
  readonly result?: unknown
  readonly error_type?: string
  readonly error?: string
}

/** `send_task(name, args, kwargs, **options)` then `AsyncResult.get()`, in Python. */
export function pythonCall(
  env: CeleryEnv,
  name: string,
  args: unknown[],
  kwargs: Record<string, unknown> = {},
  options: Record<string, unknown> = {},
): Promise<PythonCall> {
  const argv = ['celery_app.py', 'call', name, JSON.stringify(args), JSON.stringify(kwargs), JSON.stringify(options)]
  return new Promise((resolve, reject) => {
    execFile(PYTHON, argv, { cwd: FIXTURES, env: pythonEnv(env), timeout: 150_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`python failed: ${error.message}\n${stderr}`))
      else resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as PythonCall)
    })
  })
}

/** `send_task(name, args, kwargs, **options)` in Python without waiting for a result; resolves with the task id. */
export function pythonSend(
  env: CeleryEnv,
  name: string,
  args: unknown[],
  options: Record<string, unknown> = {},
): Promise<string> {
  const argv = ['celery_app.py', 'send', name, JSON.stringify(args), '{}', JSON.stringify(options)]
  return new Promise((resolve, reject) => {
    execFile(PYTHON, argv, { cwd: FIXTURES, env: pythonEnv(env), timeout: 150_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`python failed: ${error.message}\n${stderr}`))
      else resolve((JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { id: string }).id)
    })
  })
}

/** A real Celery worker (`-P solo`: one task at a time, quick to start) on the env's queue. */
export interface CeleryWorker {
  readonly process: ChildProcess
  output(): string
  stop(): Promise<void>
}

export async function startCeleryWorker(env: CeleryEnv, extra: readonly string[] = []): Promise<CeleryWorker> {
  const argv = ['-m', 'celery', '-A', 'celery_app', 'worker', '-P', 'solo', '-Q', env.queue, '-l', 'INFO']
  const child = spawn(
    PYTHON,
    [...argv, '--without-gossip', '--without-mingle', '--without-heartbeat', '-n', `${env.queue}@%h`, ...extra],
    { cwd: FIXTURES, env: pythonEnv(env), stdio: ['ignore', 'pipe', 'pipe'] },
  )
  ownChild(child)
  let output = ''
  const collect = (chunk: Buffer) => {
    output += chunk.toString()
  }
  child.stdout.on('data', collect)
  child.stderr.on('data', collect)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`celery worker did not start:\n${output}`)), 90_000)
    const check = () => {
      if (/ready\./.test(output)) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout.on('data', check)
    child.stderr.on('data', check)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`celery worker exited (${code}):\n${output}`))
    })
  })
  return {
    process: child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    },
  }
}
