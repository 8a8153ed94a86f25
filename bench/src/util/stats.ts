/** Median of the samples; NaN when there are none. */
export function median(samples: readonly number[]): number {
  return quantile(samples, 0.5)
}

/** Linear-interpolated quantile (q in [0, 1]) of the samples; NaN when there are none. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN
  const sorted = [...samples].sort((a, b) => a - b)
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  const a = sorted[lo] ?? Number.NaN
  const b = sorted[hi] ?? Number.NaN
  return a + (b - a) * (pos - lo)
}

/** Relative spread (max − min) / median, to tell a noisy measurement from a clean one. */
export function spread(samples: readonly number[]): number {
  if (samples.length < 2) return 0
  const m = median(samples)
  return m === 0 ? 0 : (Math.max(...samples) - Math.min(...samples)) / m
}
