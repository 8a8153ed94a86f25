import { InvalidOptionsError } from '../errors/invalid-options-error'
import type { ExecutionHooks } from './runtime'
import type { WorkerOptions } from './worker'

/** A worker's options with the defaults applied and checked: what the worker reads from then on. */
export interface WorkerSettings {
  readonly queues: readonly string[]
  readonly concurrency: number
  readonly prefetch: number
  readonly drainTimeoutMs: number
  readonly hooks: ExecutionHooks
  readonly handleSignals: boolean
}

/** Applies the defaults and rejects what cannot work, before anything is started. */
export function resolveWorkerSettings(options: WorkerOptions, appQueues: () => string[]): WorkerSettings {
  const concurrency = options.concurrency ?? 10
  const prefetch = options.prefetch ?? concurrency
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new InvalidOptionsError(`worker concurrency must be an integer ≥ 1, got ${concurrency}`)
  }
  if (!(Number.isInteger(prefetch) && prefetch >= 1)) {
    throw new InvalidOptionsError(`worker prefetch must be an integer ≥ 1, got ${prefetch}`)
  }
  const queues = [...new Set(options.queues ?? appQueues())]
  if (queues.length === 0) throw new InvalidOptionsError('worker has no queues to consume: pass { queues: [...] }')
  return {
    queues,
    concurrency,
    prefetch,
    drainTimeoutMs: options.drainTimeoutMs ?? options.shutdownTimeoutMs ?? 25_000,
    hooks: options.hooks ?? {},
    handleSignals: Boolean(options.handleSignals),
  }
}
