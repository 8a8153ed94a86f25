import { InvalidOptionsError } from '../errors/invalid-options-error'
import { cumulativeBuckets } from './buckets'
import type { MetricFamilySnapshot, MetricsSnapshot } from './snapshot'

/**
 * The part of a prom-client `Registry` (v15; the global `register` too) that `registerPromClientMetrics` uses. Typed
 * by its shape so that core does not depend on prom-client: pass your registry as it is.
 */
export interface PromClientRegistry {
  /** prom-client's own method; Conveyor passes objects of the shape prom-client reads (`get()`, `name`, `type`). */
  registerMetric(metric: never): void
  removeSingleMetric(name: string): void
  getSingleMetric(name: string): unknown
}

/** Where the metrics come from: `collectMetrics(app)` (an `AppMetrics`), or anything with the same two methods. */
export interface MetricsSource {
  /** Read what is read at scrape time (queue depth, workers) and return every metric. */
  collect(): Promise<MetricsSnapshot>
  /** The metric families without reading anything (their names and help are what gets registered). */
  snapshot(): MetricsSnapshot
}

/** One value line as prom-client's registry renders it. */
interface PromValue {
  readonly value: number
  readonly labels: Record<string, string | number>
  readonly metricName?: string
}

/** How prom-client's cluster `AggregatorRegistry` combines a metric across workers. */
type Aggregator = 'sum' | 'max'

interface PromMetric {
  name: string
  readonly help: string
  readonly type: MetricFamilySnapshot['type']
  readonly aggregator: Aggregator
  get(): Promise<{ name: string; help: string; type: string; aggregator: Aggregator; values: PromValue[] }>
  reset(): void
}

/**
 * Register Conveyor's metrics into a prom-client `Registry` the application owns, so one `/metrics` (your
 * `await registry.metrics()`) serves the app's metrics and Conveyor's together, with the registry's default labels
 * and content type (OpenMetrics too). Each scrape reads the source once (one broker stats round per scrape, however
 * many families). Families added to the source later are not picked up: register after the app's metrics are
 * declared. Throws `InvalidOptionsError`, registering nothing, when a name is already taken in the registry.
 * Returns a function that removes them again.
 */
export function registerPromClientMetrics(registry: PromClientRegistry, source: MetricsSource): () => void {
  const families = source.snapshot().families
  const taken = families.find((f) => registry.getSingleMetric(f.name) !== undefined)
  if (taken !== undefined) {
    throw new InvalidOptionsError(`registerPromClientMetrics: the registry already has a metric named ${taken.name}`)
  }
  let pending: Promise<Map<string, MetricFamilySnapshot>> | undefined
  // prom-client asks every metric at once on a scrape: they share one collect(), dropped once it settled.
  const read = () => {
    if (pending === undefined) {
      const current = source.collect().then((s) => new Map(s.families.map((f) => [f.name, f])))
      const clear = () => {
        if (pending === current) pending = undefined
      }
      current.then(clear, clear)
      pending = current
    }
    return pending
  }
  const register = registry.registerMetric.bind(registry) as (metric: PromMetric) => void
  const names: string[] = []
  for (const family of families) {
    const aggregator: Aggregator = family.type === 'gauge' && family.merge === 'latest' ? 'max' : 'sum'
    const metric: PromMetric = {
      // Assigned by prom-client when it renders OpenMetrics (it strips a counter's `_total`).
      name: family.name,
      help: family.help,
      type: family.type,
      aggregator,
      async get() {
        const current = (await read()).get(family.name) ?? family
        return { name: metric.name, help: family.help, type: family.type, aggregator, values: promValues(current) }
      },
      // `registry.resetMetrics()` calls it; Conveyor's counters belong to the app and are not reset from outside.
      reset() {},
    }
    register(metric)
    names.push(metric.name)
  }
  return () => {
    for (const name of names) registry.removeSingleMetric(name)
  }
}

/** A family's series as prom-client value lines: histograms as cumulative `_bucket`s, `_sum` and `_count`. */
function promValues(family: MetricFamilySnapshot): PromValue[] {
  const values: PromValue[] = []
  for (const s of family.series) {
    const labels: Record<string, string> = {}
    family.labelNames.forEach((name, i) => {
      labels[name] = s.labels[i] ?? ''
    })
    if (family.type !== 'histogram') {
      values.push({ value: s.value ?? 0, labels })
      continue
    }
    let total = 0
    for (const { le, count } of cumulativeBuckets(family.buckets, s.counts)) {
      values.push({ value: count, labels: { ...labels, le: le ?? '+Inf' }, metricName: `${family.name}_bucket` })
      total = count
    }
    values.push({ value: s.sum ?? 0, labels, metricName: `${family.name}_sum` })
    values.push({ value: total, labels, metricName: `${family.name}_count` })
  }
  return values
}
