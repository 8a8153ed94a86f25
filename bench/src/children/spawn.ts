import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url))
const BENCH_DIR = fileURLToPath(new URL('../..', import.meta.url))

export interface ChildEvent {
  readonly event: string
  readonly [key: string]: unknown
}

export interface WorkerChild {
  readonly process: ChildProcess
  /** Resolves with the first event of that name (rejects if the child exits or says `error` first). */
  next(event: string, timeoutMs: number): Promise<ChildEvent>
  onEvent(listener: (event: ChildEvent) => void): void
  kill(signal: NodeJS.Signals): void
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>
}

/**
 * Start `children/worker.ts` in a fresh Node process running TypeScript through tsx (`--import tsx`, so the pid is
 * the worker's own and SIGKILL hits the worker, not a wrapper).
 */
export function spawnWorker(args: readonly string[], nodeFlags: readonly string[] = []): WorkerChild {
  // Children load Conveyor the way this process does: sources (`npm run bench`) or builds (`npm run bench:dist`).
  const source = process.execArgv.includes('--conditions=conveyor-source') ? ['--conditions=conveyor-source'] : []
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', ...source, WORKER, ...args], {
    cwd: BENCH_DIR,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: process.env,
  })
  const listeners = new Set<(event: ChildEvent) => void>()
  const lines = createInterface({ input: child.stdout! })
  lines.on('line', (line) => {
    let event: ChildEvent
    try {
      event = JSON.parse(line) as ChildEvent
    } catch {
      process.stderr.write(`[bench] [child] ${line}\n`)
      return
    }
    for (const listener of listeners) listener(event)
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    process: child,
    exited,
    onEvent: (listener) => listeners.add(listener),
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    },
    next(name, timeoutMs) {
      return new Promise<ChildEvent>((resolve, reject) => {
        const timer = setTimeout(() => {
          listeners.delete(listener)
          reject(new Error(`[bench] worker child sent no "${name}" within ${timeoutMs} ms`))
        }, timeoutMs)
        const listener = (event: ChildEvent) => {
          if (event.event === name || event.event === 'error') {
            clearTimeout(timer)
            listeners.delete(listener)
            if (event.event === 'error') reject(new Error(`[bench] worker child: ${String(event.message)}`))
            else resolve(event)
          }
        }
        listeners.add(listener)
        void exited.then(() => {
          clearTimeout(timer)
          listeners.delete(listener)
          reject(new Error(`[bench] worker child exited before "${name}"`))
        })
      })
    },
  }
}
