import { MAX_PRIORITY, MIN_PRIORITY } from '../contracts/envelope'
import { InvalidOptionsError } from '../errors/invalid-options-error'
import { exponential } from '../retry/backoff'
import { type RetryOptions, validateRetryOptions } from '../retry/policy'
import type { TaskOptions } from '../task/task'
import { MAX_TIMER_MS } from '../util/long-timeout'
import { checkIdempotencyTtl } from './idempotency'
import type { AppDefaults } from './options'

/** A task's options merged with the app's defaults, checked once at registration. */
export interface TaskSettings {
  readonly queue?: string
  readonly priority?: number
  readonly retry: RetryOptions
  readonly maxAttempts: number
  readonly timeoutMs?: number
  readonly hardTimeoutMs?: number
  readonly maxDeliveries: number
  readonly expiresInMs?: number
  readonly resultTtlMs: number
  readonly idempotencyTtlMs: number
}

/** How long an idempotency key drops repeats when neither the enqueue, the task nor the app says: a day, as Stripe. */
export const DEFAULT_IDEMPOTENCY_TTL_MS = 86_400_000

const DEFAULT_RETRY: RetryOptions = Object.freeze({
  maxAttempts: 3,
  backoff: exponential({ baseMs: 1000, maxMs: 300_000, jitter: 'full' }),
})

export function checkPriority(where: string, priority: number | undefined): void {
  if (priority === undefined) return
  if (!(Number.isInteger(priority) && priority >= MIN_PRIORITY && priority <= MAX_PRIORITY)) {
    throw new InvalidOptionsError(
      `${where}: priority must be an integer ${MIN_PRIORITY}–${MAX_PRIORITY} (higher runs first), got ${priority}`,
    )
  }
}

export function checkQueueName(where: string, queue: string | undefined): void {
  if (queue === undefined) return
  if (typeof queue !== 'string' || !/^[A-Za-z0-9_.:-]{1,200}$/.test(queue)) {
    throw new InvalidOptionsError(
      `${where}: queue name must be 1–200 characters of letters, digits and _ . : -, got ${JSON.stringify(queue)}`,
    )
  }
}

function checkPositive(
  where: string,
  name: string,
  value: number | undefined,
  { integer = false }: { integer?: boolean } = {},
): void {
  if (value === undefined) return
  const ok = Number.isFinite(value) && value > 0 && (!integer || Number.isInteger(value))
  if (!ok)
    throw new InvalidOptionsError(`${where}: ${name} must be ${integer ? 'an integer' : 'a number'} > 0, got ${value}`)
}

/** A time limit becomes a timer: past `MAX_TIMER_MS` it would fire after 1 ms and fail every attempt at once. */
function checkTimeLimit(where: string, name: string, value: number | undefined): void {
  checkPositive(where, name, value)
  if (value !== undefined && value > MAX_TIMER_MS) {
    throw new InvalidOptionsError(
      `${where}: ${name} must be at most ${MAX_TIMER_MS} ms (about 24.8 days), got ${value}`,
    )
  }
}

export function checkDefaults(defaults: AppDefaults): void {
  const where = 'createApp({ defaults })'
  checkQueueName(where, defaults.queue)
  checkPriority(where, defaults.priority)
  validateRetryOptions(where, defaults.retry)
  checkTimeLimit(where, 'timeoutMs', defaults.timeoutMs)
  checkPositive(where, 'maxDeliveries', defaults.maxDeliveries, { integer: true })
  checkPositive(where, 'resultTtlMs', defaults.resultTtlMs)
  checkIdempotencyTtl(where, defaults.idempotencyTtlMs)
}

export function taskSettings(name: string, options: TaskOptions<unknown>, defaults: AppDefaults): TaskSettings {
  const where = `task "${name}"`
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
    throw new InvalidOptionsError(
      `task name must be a non-empty string of at most 200 characters, got ${JSON.stringify(name)}`,
    )
  }
  checkQueueName(where, options.queue)
  checkPriority(where, options.priority)
  validateRetryOptions(where, options.retry)
  checkTimeLimit(where, 'timeoutMs', options.timeoutMs)
  checkPositive(where, 'maxDeliveries', options.maxDeliveries, { integer: true })
  checkTimeLimit(where, 'hardTimeoutMs', options.hardTimeoutMs)
  checkPositive(where, 'expiresInMs', options.expiresInMs)
  checkPositive(where, 'resultTtlMs', options.resultTtlMs)
  checkIdempotencyTtl(where, options.idempotencyTtlMs)
  const retry: RetryOptions = { ...DEFAULT_RETRY, ...defaults.retry, ...options.retry }
  const queue = options.queue
  const priority = options.priority
  const timeoutMs = options.timeoutMs ?? defaults.timeoutMs
  return {
    ...(queue !== undefined ? { queue } : {}),
    ...(priority !== undefined ? { priority } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(options.expiresInMs !== undefined ? { expiresInMs: options.expiresInMs } : {}),
    ...(options.hardTimeoutMs !== undefined ? { hardTimeoutMs: options.hardTimeoutMs } : {}),
    retry,
    maxAttempts: retry.maxAttempts ?? 3,
    maxDeliveries: options.maxDeliveries ?? defaults.maxDeliveries ?? 5,
    resultTtlMs: options.resultTtlMs ?? defaults.resultTtlMs ?? 86_400_000,
    idempotencyTtlMs: options.idempotencyTtlMs ?? defaults.idempotencyTtlMs ?? DEFAULT_IDEMPOTENCY_TTL_MS,
  }
}
