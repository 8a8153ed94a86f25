/** The longest delay `setTimeout` honours (2³¹−1 ms, about 24.8 days); a longer one, or Infinity, fires after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647

/**
 * `setTimeout` for any delay: longer than `MAX_TIMER_MS` it re-arms until the deadline, and `Infinity` never fires.
 * Returns how to cancel it. Used where a caller's own number becomes a timer (`result({ timeoutMs })`,
 * `worker.stop({ timeoutMs })`, `conveyor worker --drain-timeout`).
 */
export function longTimeout(fire: () => void, ms: number, options: { readonly unref?: boolean } = {}): () => void {
  if (ms === Number.POSITIVE_INFINITY) return () => {}
  const deadline = Date.now() + ms
  let timer: NodeJS.Timeout
  const arm = (): void => {
    const left = Math.max(0, deadline - Date.now())
    timer = left > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(fire, left)
    // A backstop that must not keep the process alive by itself.
    if (options.unref === true) timer.unref()
  }
  arm()
  return () => clearTimeout(timer)
}
