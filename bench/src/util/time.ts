import { setTimeout as delay } from 'node:timers/promises'

export const sleep = (ms: number): Promise<void> => delay(ms)

/** Milliseconds since an arbitrary origin, sub-millisecond resolution, monotonic. */
export const now = (): number => performance.now()

/** `promise`, or a rejection naming `what` once `ms` passed (a hung close must not hang the whole bench). */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`[bench] ${what} took longer than ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Resolve when `check` is true, polling every `everyMs`; reject after `timeoutMs` naming `what`. */
export async function waitFor(check: () => boolean, what: string, timeoutMs: number, everyMs = 2): Promise<void> {
  const deadline = now() + timeoutMs
  while (!check()) {
    if (now() > deadline) throw new Error(`[bench] timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}
