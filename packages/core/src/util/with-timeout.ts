/**
 * Await `promise`, rejecting with `failure()` when it has not settled within `timeoutMs`; the timer is cleared either
 * way. The one "await with a deadline" of core and the conformance harness (a broker's stats read, an alert input, a
 * suite expectation). `promise` is not cancelled: it runs on, and its late outcome is ignored.
 */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, failure: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(failure()), timeoutMs)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}
