import { match, P } from 'ts-pattern'
import { InvalidOptionsError } from '../errors/invalid-options-error'
import { UnrecoverableError } from '../errors/unrecoverable-error'
import type { Backoff } from './backoff'

/** Retry policy of a task (or the app's default). */
export interface RetryOptions {
  /** Attempts in all, the first run included. Defaults to 3; 1 means never retry. */
  readonly maxAttempts?: number
  /** Delay before each retry: a `Backoff` (`exponential(…)`, `fixed(…)`, a function) or a fixed number of ms. */
  readonly backoff?: Backoff | number
  /**
   * Whether this error is worth another attempt. Defaults to every error but `UnrecoverableError`. A ts-pattern
   * `match` over the error is the idiom:
   * `retryOn: (e) => match(e).with(P.instanceOf(HttpError), (h) => h.status >= 500).otherwise(() => true)`.
   */
  readonly retryOn?: (error: unknown, attempt: number) => boolean
  /**
   * What happens when the task fails for good: `true` (default) moves the message to the dead-letter store; `false`
   * drops it and records the task as `failed`.
   */
  readonly deadLetter?: boolean
}

/** What the worker does with a failed attempt. */
export type RetryDecision =
  | { readonly kind: 'retry'; readonly delayMs: number }
  | { readonly kind: 'dead-letter'; readonly reason: 'unrecoverable' | 'max-attempts' }
  | { readonly kind: 'fail' }

export function validateRetryOptions(where: string, retry: RetryOptions | undefined): void {
  if (retry === undefined) return
  const { maxAttempts, backoff } = retry
  if (maxAttempts !== undefined && !(Number.isInteger(maxAttempts) && maxAttempts >= 1)) {
    throw new InvalidOptionsError(`${where}: retry.maxAttempts must be an integer ≥ 1, got ${maxAttempts}`)
  }
  if (typeof backoff === 'number' && !(Number.isFinite(backoff) && backoff >= 0)) {
    throw new InvalidOptionsError(`${where}: retry.backoff must be ≥ 0 ms or a backoff function, got ${backoff}`)
  }
}

/** Decide what a failed attempt leads to. Core's policy, applied the same way on every broker. */
export function decideRetry(retry: RetryOptions, error: unknown, attempt: number, maxAttempts: number): RetryDecision {
  const finalFailure = (reason: 'unrecoverable' | 'max-attempts'): RetryDecision =>
    retry.deadLetter === false ? { kind: 'fail' } : { kind: 'dead-letter', reason }
  const wantsRetry = () => (retry.retryOn ? retry.retryOn(error, attempt) : true)
  return match({ error, exhausted: attempt >= maxAttempts })
    .with({ error: P.instanceOf(UnrecoverableError) }, () => finalFailure('unrecoverable'))
    .with({ exhausted: true }, () => finalFailure('max-attempts'))
    .when(
      () => !wantsRetry(),
      () => finalFailure('unrecoverable'),
    )
    .otherwise(() => ({ kind: 'retry', delayMs: backoffDelay(retry.backoff, attempt, error) }))
}

function backoffDelay(backoff: Backoff | number | undefined, attempt: number, error: unknown): number {
  const raw = backoff === undefined ? 0 : typeof backoff === 'number' ? backoff : backoff(attempt, error)
  return Number.isFinite(raw) && raw > 0 ? Math.round(raw) : 0
}
