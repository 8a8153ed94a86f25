import type { Envelope } from '../contracts/envelope'
import { InvalidOptionsError } from '../errors/invalid-options-error'
import { sleep } from '../util/sleep'
import type { ExecutionHooks } from '../worker/runtime'
import type { CoordinationStore } from './coordination'

/** At most `limit` runs start per `windowMs` (a sliding window). */
export interface RateLimit {
  readonly limit: number
  readonly windowMs: number
}

/** Rate limits by task name, e.g. `{ 'email.send': { limit: 100, windowMs: 1000 } }`. */
export type RateLimits = Readonly<Record<string, RateLimit>>

export interface RateLimitHooksOptions {
  /** Prefix of the window keys in the store, so several apps can share one. Defaults to `rate:`. */
  readonly keyPrefix?: string
}

/**
 * Worker hooks that hold a task until its rate limit has a token. With a shared store (Redis) the limit holds across
 * every worker process using that store; with the memory store it holds per process.
 *
 * A waiting task keeps its delivery (the broker extends its lease) and one concurrency slot, so a limited task
 * cannot be fetched by another worker meanwhile; give limited tasks their own queue to keep other tasks flowing.
 */
export function rateLimitHooks(
  store: CoordinationStore,
  limits: RateLimits,
  options: RateLimitHooksOptions = {},
): ExecutionHooks {
  const prefix = options.keyPrefix ?? 'rate:'
  for (const [name, rule] of Object.entries(limits)) {
    if (!(Number.isInteger(rule.limit) && rule.limit >= 1)) {
      throw new InvalidOptionsError(`rate limit of "${name}": limit must be an integer ≥ 1, got ${rule.limit}`)
    }
    if (!(Number.isFinite(rule.windowMs) && rule.windowMs >= 1)) {
      throw new InvalidOptionsError(`rate limit of "${name}": windowMs must be ≥ 1, got ${rule.windowMs}`)
    }
  }
  return {
    async beforeRun(envelope: Envelope, signal: AbortSignal) {
      const rule = limits[envelope.task]
      if (rule === undefined) return 'run'
      for (;;) {
        const waitMs = await store.acquireRate(`${prefix}${envelope.task}`, rule.limit, rule.windowMs)
        if (waitMs <= 0) return 'run'
        await sleep(waitMs, signal)
      }
    },
  }
}
