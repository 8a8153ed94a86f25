import { InvalidOptionsError } from '../errors/invalid-options-error'

/**
 * Milliseconds to wait before the next attempt. `attempt` is the attempt that just failed (1 after the first run);
 * `error` is what it threw. A backoff may look at the error (a rate-limit error carrying `retryAfterMs`).
 */
export type Backoff = (attempt: number, error: unknown) => number

/** How randomness spreads retries: `full` = uniform in [0, d]; `equal` = d/2 + uniform in [0, d/2]; `none` = d. */
export type Jitter = 'none' | 'full' | 'equal'

export interface ExponentialBackoffOptions {
  /** Delay after the first failure, before jitter. */
  readonly baseMs: number
  /** Growth per attempt. Defaults to 2. */
  readonly factor?: number
  /** Upper bound before jitter. Defaults to 1 hour. */
  readonly maxMs?: number
  /** Defaults to `full` (AWS's "full jitter": least contention when many tasks fail together). */
  readonly jitter?: Jitter
  /** Source of randomness in [0, 1); tests pass a fixed one. */
  readonly random?: () => number
}

function applyJitter(delay: number, jitter: Jitter, random: () => number): number {
  switch (jitter) {
    case 'none':
      return delay
    case 'full':
      return Math.floor(random() * (delay + 1))
    case 'equal':
      return Math.floor(delay / 2 + random() * (delay / 2 + 1))
  }
}

const checkMs = (name: string, value: number) => {
  if (!(Number.isFinite(value) && value >= 0)) {
    throw new InvalidOptionsError(`${name} must be a finite number of milliseconds ≥ 0, got ${value}`)
  }
}

/** `baseMs · factor^(attempt−1)`, capped at `maxMs`, then jittered. */
export function exponential(options: ExponentialBackoffOptions): Backoff {
  const { baseMs, factor = 2, maxMs = 3_600_000, jitter = 'full', random = Math.random } = options
  checkMs('exponential({ baseMs })', baseMs)
  checkMs('exponential({ maxMs })', maxMs)
  if (!(Number.isFinite(factor) && factor >= 1)) {
    throw new InvalidOptionsError(`exponential({ factor }) must be ≥ 1, got ${factor}`)
  }
  if (!['none', 'full', 'equal'].includes(jitter)) {
    throw new InvalidOptionsError(`exponential({ jitter }) must be 'none', 'full' or 'equal', got ${String(jitter)}`)
  }
  return (attempt) => {
    const raw = baseMs * factor ** Math.max(0, attempt - 1)
    return applyJitter(Math.min(maxMs, raw), jitter, random)
  }
}

/** The same delay after every failure, optionally jittered. */
export function fixed(delayMs: number, options: { jitter?: Jitter; random?: () => number } = {}): Backoff {
  checkMs('fixed(delayMs)', delayMs)
  const { jitter = 'none', random = Math.random } = options
  return () => applyJitter(delayMs, jitter, random)
}
