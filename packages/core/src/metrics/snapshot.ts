/**
 * Metrics as plain data: what a process reports (a worker child to its supervisor, over IPC) and what is rendered
 * in Prometheus' text format. JSON-safe, so snapshots cross process boundaries unchanged.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram'

/**
 * How a gauge combines across processes: `sum` (tasks running in each worker add up) or `latest` (the same
 * broker-side value read by several processes: the most recent reading wins). Counters and histograms always add.
 */
export type GaugeMerge = 'sum' | 'latest'

/** One labelled series of a family. */
export interface SeriesSnapshot {
  /** Label values, in the family's `labelNames` order. */
  readonly labels: readonly string[]
  /** Counter or gauge value. */
  readonly value?: number
  /** Histogram: observations per bucket (not cumulative), one more than `buckets` (the last is `+Inf`). */
  readonly counts?: readonly number[]
  /** Histogram: sum of the observed values. */
  readonly sum?: number
}

export interface MetricFamilySnapshot {
  /** Full metric name, e.g. `conveyor_tasks_completed_total`. */
  readonly name: string
  readonly help: string
  readonly type: MetricType
  readonly labelNames: readonly string[]
  /** Histogram bucket upper bounds, ascending, without `+Inf`. */
  readonly buckets?: readonly number[]
  /** Gauges only; defaults to `sum`. */
  readonly merge?: GaugeMerge
  readonly series: readonly SeriesSnapshot[]
}

export interface MetricsSnapshot {
  /** When it was taken, epoch ms (decides `latest` gauges when snapshots are merged). */
  readonly at: number
  readonly families: readonly MetricFamilySnapshot[]
}
