import { pollUntil, sleep, withTimeout } from '@conveyor/core/adapter'
import { ConformanceFailure } from './failure'

// The one sleep (core's); re-exported so the suite's cases keep importing it from the harness.
export { sleep }

/**
 * Read until `ok` holds or `timeoutMs` passes. Used for positive expectations on stores whose counters lag a little
 * (RabbitMQ message counts); the failure names what was awaited and the last value seen.
 */
export async function eventually<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs: number,
  what: string,
): Promise<T> {
  return pollUntil(read, ok, {
    timeoutMs,
    everyMs: 25,
    failure: (last) => new ConformanceFailure(`${what}: not within ${timeoutMs} ms (last seen: ${describe(last)})`),
  })
}

/** Await `promise`, failing with `what` when it takes longer than `timeoutMs`. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return withTimeout(promise, timeoutMs, () => new ConformanceFailure(`${what}: not within ${timeoutMs} ms`))
}

/** Resolve with the error `promise` rejects with; fail when it resolves. */
export async function rejection(promise: Promise<unknown>, what: string): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new ConformanceFailure(`${what}: expected a rejection, but it resolved`)
}

function describe(value: unknown): string {
  try {
    const text = JSON.stringify(value)
    return text === undefined ? String(value) : text.length > 300 ? `${text.slice(0, 300)}…` : text
  } catch {
    return String(value)
  }
}
