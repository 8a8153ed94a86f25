import type { ResultWaitOptions, TaskRecord } from '../contracts/result-backend'
import { ResultTimeoutError } from '../errors/result-timeout-error'
import { longTimeout } from '../util/long-timeout'

/** How a result backend ends one wait: with the terminal record, or with an error (closed, a failed read). */
export interface RecordWaiter {
  resolve(record: TaskRecord): void
  reject(error: unknown): void
}

/**
 * The timeout and abort half of `ResultBackend.wait`, the same in every backend: the wait rejects with
 * `ResultTimeoutError` after `options.timeoutMs`, with the signal's reason when it aborts (at once when it already
 * has, before `listen` runs), or ends as the backend says through the waiter. `listen` registers the waiter wherever
 * the backend wakes it and returns how to unregister it; that runs exactly once, however the wait ends (also when
 * `listen` ended it at once), after the timer and the abort listener are gone. Settling a waiter again does nothing.
 */
export function waitForRecord(
  id: string,
  options: ResultWaitOptions,
  listen: (waiter: RecordWaiter) => () => void,
): Promise<TaskRecord> {
  const { signal, timeoutMs } = options
  if (signal?.aborted) return Promise.reject(signal.reason)
  return new Promise<TaskRecord>((resolve, reject) => {
    let ended = false
    let unlisten: (() => void) | undefined
    const end = (): boolean => {
      if (ended) return false
      ended = true
      cancelTimer()
      signal?.removeEventListener('abort', onAbort)
      unlisten?.()
      return true
    }
    const waiter: RecordWaiter = {
      resolve: (record) => {
        if (end()) resolve(record)
      },
      reject: (error) => {
        if (end()) reject(error)
      },
    }
    const onAbort = () => waiter.reject(signal?.reason ?? new Error('aborted'))
    // Any length, Infinity included: `setTimeout` fires a delay past 24.8 days after 1 ms ("wait forever" timed out).
    const cancelTimer = longTimeout(() => waiter.reject(new ResultTimeoutError(id, timeoutMs)), timeoutMs)
    signal?.addEventListener('abort', onAbort, { once: true })
    const stop = listen(waiter)
    if (ended) stop()
    else unlisten = stop
  })
}
