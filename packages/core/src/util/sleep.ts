import { ConveyorError } from '../errors/conveyor-error'

/** Resolve after `ms`, or reject when `signal` aborts (e.g. the worker is stopping). The one `sleep` of every package. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason ?? new ConveyorError('CONVEYOR_ABORTED', 'aborted'))
      return
    }
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason ?? new ConveyorError('CONVEYOR_ABORTED', 'aborted'))
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
