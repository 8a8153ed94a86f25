import type { QueueRow } from '../queues'

/** One sample of the dashboard process (every `sampleIntervalMs`): counts over `seconds`, and per-queue gauges. */
export interface Sample {
  at: number
  seconds: number
  enqueued: number
  succeeded: number
  retried: number
  failed: number
  deadLettered: number
  depth: Record<string, number>
  oldestAgeMs: Record<string, number>
}

/** What `api/overview` answers. */
export interface Overview {
  queues: QueueRow[]
  workers: number
  samples: Sample[]
  now: number
}

/** uPlot data: the x values (seconds), then one array per series. */
type PlotData = (number | null)[][]

/** The overview's chart data and the two figures computed from the samples. */
export interface OverviewSeries {
  throughput: PlotData
  failures: PlotData
  depth: { names: string[]; data: PlotData }
  oldest: { names: string[]; data: PlotData }
  /** Runs succeeded per second over the last minute. */
  done: number
  /** Runs failed or dead-lettered over the hour. */
  failedHour: number
}

/** Per-queue series for the `max` queues with the highest values over the hour. */
function perQueue(samples: Sample[], x: number[], pick: (s: Sample) => Record<string, number>, max = 6) {
  const peak = new Map<string, number>()
  for (const sample of samples) {
    for (const [name, value] of Object.entries(pick(sample))) peak.set(name, Math.max(peak.get(name) ?? 0, value))
  }
  const names = [...peak.keys()].sort((a, b) => peak.get(b)! - peak.get(a)! || (a < b ? -1 : 1)).slice(0, max)
  return { names, data: [x, ...names.map((name) => samples.map((s) => pick(s)[name] ?? null))] }
}

export function overviewSeries(s: Sample[]): OverviewSeries {
  const x = s.map((p) => p.at / 1000)
  const last = s.slice(-12)
  const secs = last.reduce((t, p) => t + p.seconds, 0) || 1
  return {
    throughput: [x, s.map((p) => p.succeeded / p.seconds), s.map((p) => p.enqueued / p.seconds)],
    failures: [
      x,
      s.map((p) => p.retried / p.seconds),
      s.map((p) => p.failed / p.seconds),
      s.map((p) => p.deadLettered / p.seconds),
    ],
    depth: perQueue(s, x, (p) => p.depth),
    oldest: perQueue(s, x, (p) => p.oldestAgeMs),
    done: last.reduce((t, p) => t + p.succeeded, 0) / secs,
    failedHour: s.reduce((t, p) => t + p.failed + p.deadLettered, 0),
  }
}
