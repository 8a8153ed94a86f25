import { UsageError } from '../errors'

/** A group of worker processes consuming the same queues: dedicated pools keep urgent queues off bulk ones. */
export interface PoolSpec {
  readonly name: string
  readonly queues: readonly string[]
  /** Handlers running at once in each process of the pool. */
  readonly concurrency: number
  /** Worker processes in the pool. */
  readonly processes: number
}

const POOL = /^([A-Za-z0-9_.-]+)=([^:]+)(?::(\d+))?$/

/**
 * Parse `--pool name=queue1,queue2:concurrency` (concurrency optional: `defaultConcurrency`). Each pool gets
 * `processes` worker processes.
 */
export function parsePool(text: string, defaultConcurrency: number, processes: number): PoolSpec {
  const m = POOL.exec(text.trim())
  if (!m) {
    throw new UsageError(`worker: --pool "${text}" is not name=queue[,queue…][:concurrency], e.g. high=critical:10`)
  }
  const queues = m[2]!
    .split(',')
    .map((q) => q.trim())
    .filter((q) => q !== '')
  if (queues.length === 0) throw new UsageError(`worker: --pool "${text}" names no queue`)
  const concurrency = m[3] === undefined ? defaultConcurrency : Number(m[3])
  if (!(concurrency >= 1)) throw new UsageError(`worker: --pool "${text}": concurrency must be ≥ 1`)
  return { name: m[1]!, queues, concurrency, processes }
}

export function checkPools(pools: readonly PoolSpec[]): void {
  const names = new Set<string>()
  for (const pool of pools) {
    if (names.has(pool.name)) throw new UsageError(`worker: pool "${pool.name}" is given twice`)
    names.add(pool.name)
  }
}
