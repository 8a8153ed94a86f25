/** One bucket of a histogram series as Prometheus exposes it: its upper bound (`undefined`: +Inf) and cumulative count. */
export interface CumulativeBucket {
  readonly le: number | undefined
  readonly count: number
}

/**
 * A histogram series' per-bucket counts (`counts[i]` for `bounds[i]`, the last for +Inf) made cumulative, as both
 * exporters (the text format and prom-client) write them; the +Inf bucket's count is the series' `_count`.
 */
export function cumulativeBuckets(
  bounds: readonly number[] | undefined,
  counts: readonly number[] | undefined,
): CumulativeBucket[] {
  const upper = bounds ?? []
  const buckets: CumulativeBucket[] = []
  let cumulative = 0
  for (let i = 0; i <= upper.length; i++) {
    cumulative += counts?.[i] ?? 0
    buckets.push({ le: upper[i], count: cumulative })
  }
  return buckets
}
