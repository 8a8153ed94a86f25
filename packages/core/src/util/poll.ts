import { sleep } from './sleep'

export interface PollOptions<T> {
  /** How long to keep reading. */
  readonly timeoutMs: number
  /** Longest pause between reads (shortened to end at the deadline). */
  readonly everyMs: number
  /** The error to reject with once the time is up, given the last value read. */
  readonly failure: (last: T) => Error
}

/**
 * Read until `ok` holds, pausing between reads, and resolve with the value that satisfied it; reject with
 * `failure(last)` once `timeoutMs` passed. For waiting on stores whose state lags a little (message counts, records
 * written by another process). The one polling loop of every package and test helper.
 */
export async function pollUntil<T>(
  read: () => T | Promise<T>,
  ok: (value: T) => boolean,
  options: PollOptions<T>,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs
  let last: T = await read()
  while (!ok(last)) {
    if (Date.now() >= deadline) throw options.failure(last)
    await sleep(Math.min(options.everyMs, Math.max(1, deadline - Date.now())))
    last = await read()
  }
  return last
}
