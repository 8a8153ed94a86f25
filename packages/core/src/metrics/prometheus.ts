import { cumulativeBuckets } from './buckets'
import type { MetricFamilySnapshot, MetricsSnapshot, SeriesSnapshot } from './snapshot'

/** The content type of Prometheus' text exposition format, for an HTTP response. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

const escapeLabel = (value: string) => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
const escapeHelp = (text: string) => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')

function number(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Number.POSITIVE_INFINITY) return '+Inf'
  if (value === Number.NEGATIVE_INFINITY) return '-Inf'
  return String(value)
}

function labelText(names: readonly string[], values: readonly string[], extra?: [string, string]): string {
  const pairs = names.map((name, i) => `${name}="${escapeLabel(values[i] ?? '')}"`)
  if (extra) pairs.push(`${extra[0]}="${escapeLabel(extra[1])}"`)
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`
}

/** Render snapshots (merged first when there are several) in Prometheus' text exposition format 0.0.4. */
export function renderPrometheus(snapshot: MetricsSnapshot): string {
  const lines: string[] = []
  for (const family of snapshot.families) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`)
    for (const s of family.series) {
      if (family.type !== 'histogram') {
        lines.push(`${family.name}${labelText(family.labelNames, s.labels)} ${number(s.value ?? 0)}`)
        continue
      }
      let total = 0
      for (const { le, count } of cumulativeBuckets(family.buckets, s.counts)) {
        const bound = le === undefined ? '+Inf' : number(le)
        lines.push(`${family.name}_bucket${labelText(family.labelNames, s.labels, ['le', bound])} ${count}`)
        total = count
      }
      lines.push(`${family.name}_sum${labelText(family.labelNames, s.labels)} ${number(s.sum ?? 0)}`)
      lines.push(`${family.name}_count${labelText(family.labelNames, s.labels)} ${total}`)
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`
}

/**
 * One snapshot from several processes' (a supervisor's children, say): counters and histograms add up per label
 * set, gauges add up or take the most recent reading (their `merge`). A family is kept in the shape of its first
 * occurrence; a later one with other labels or buckets (a different version of the code) is skipped rather than
 * mixed in wrongly.
 */
export function mergeSnapshots(snapshots: readonly MetricsSnapshot[]): MetricsSnapshot {
  interface Acc {
    family: MetricFamilySnapshot
    series: Map<string, { s: SeriesSnapshot; at: number }>
  }
  const families = new Map<string, Acc>()
  let latest = 0
  for (const snapshot of snapshots) {
    latest = Math.max(latest, snapshot.at)
    for (const family of snapshot.families) {
      let acc = families.get(family.name)
      if (acc === undefined) {
        acc = { family, series: new Map() }
        families.set(family.name, acc)
      } else if (!sameShape(acc.family, family)) {
        continue
      }
      for (const s of family.series) {
        const key = s.labels.join('\u0000')
        const prior = acc.series.get(key)
        if (prior === undefined) acc.series.set(key, { s, at: snapshot.at })
        else acc.series.set(key, combine(family, prior, { s, at: snapshot.at }))
      }
    }
  }
  return {
    at: latest,
    families: [...families.values()].map(({ family, series }) => ({
      ...family,
      series: [...series.values()].map(({ s }) => s),
    })),
  }
}

function sameShape(a: MetricFamilySnapshot, b: MetricFamilySnapshot): boolean {
  return (
    a.type === b.type &&
    a.labelNames.join(',') === b.labelNames.join(',') &&
    (a.buckets ?? []).join(',') === (b.buckets ?? []).join(',')
  )
}

function combine(
  family: MetricFamilySnapshot,
  a: { s: SeriesSnapshot; at: number },
  b: { s: SeriesSnapshot; at: number },
): { s: SeriesSnapshot; at: number } {
  const at = Math.max(a.at, b.at)
  if (family.type === 'histogram') {
    const length = Math.max(a.s.counts?.length ?? 0, b.s.counts?.length ?? 0)
    const counts = Array.from({ length }, (_, i) => (a.s.counts?.[i] ?? 0) + (b.s.counts?.[i] ?? 0))
    return { s: { labels: a.s.labels, counts, sum: (a.s.sum ?? 0) + (b.s.sum ?? 0) }, at }
  }
  if (family.type === 'gauge' && family.merge === 'latest') return b.at >= a.at ? b : a
  return { s: { labels: a.s.labels, value: (a.s.value ?? 0) + (b.s.value ?? 0) }, at }
}
