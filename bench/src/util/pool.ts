/** Call `fn(0..n-1)` with at most `width` calls in flight (the way a busy producer service enqueues). */
export async function inFlight(n: number, width: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  const lane = async () => {
    while (next < n) {
      const i = next++
      await fn(i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(width, n) }, lane))
}

/** Call `fn` on consecutive slices of `0..n-1` of at most `size` items, one slice at a time. */
export async function inChunks(n: number, size: number, fn: (from: number, to: number) => Promise<void>) {
  for (let from = 0; from < n; from += size) await fn(from, Math.min(n, from + size))
}
