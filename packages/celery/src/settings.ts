import { InvalidOptionsError } from '@conveyor/core'
import type { CeleryLogger } from './redis/options'

/** An integer option > 0, or its default; `InvalidOptionsError` naming the option otherwise. */
export function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!(Number.isInteger(value) && value > 0)) {
    throw new InvalidOptionsError(`[celery] ${name} must be an integer > 0, got ${value}`)
  }
  return value
}

/** `maxAttempts` as a function of the task name, checked. */
export function attemptsOf(option: number | ((task: string) => number) | undefined): (task: string) => number {
  if (typeof option === 'function') return option
  const n = positive('maxAttempts', option, 1)
  return () => n
}

/** The logger's warning as one callback; silent with `logger: false`. */
export function warnerOf(logger: CeleryLogger | false | undefined): (error: unknown, what: string) => void {
  const target =
    logger === false ? undefined : (logger ?? { warn: (obj: object, msg?: string) => console.warn(msg, obj) })
  return (error, what) =>
    target?.warn({ err: error instanceof Error ? error.message : String(error) }, `[conveyor] [celery] ${what}`)
}
