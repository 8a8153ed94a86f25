/** Restart pacing: how long to wait before the next start of a worker that keeps failing. */
export interface RestartPolicy {
  /** First delay after a failure. Default 500 ms. */
  readonly baseMs: number
  /** Longest delay. Default 30 s. */
  readonly maxMs: number
  /** A worker up this long is healthy again: its failure count resets. Default 10 s. */
  readonly stableMs: number
  /** Report (log at error level) once a worker failed at start-up this many times in a row. Default 3. */
  readonly reportAfter: number
}

export const DEFAULT_RESTART: RestartPolicy = Object.freeze({
  baseMs: 500,
  maxMs: 30_000,
  stableMs: 10_000,
  reportAfter: 3,
})

/** Delay before restart number `failures` (1 = first failure): doubling from `baseMs`, capped at `maxMs`. */
export function restartDelay(policy: RestartPolicy, failures: number): number {
  if (failures <= 0) return 0
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(failures - 1, 30))
}
