import { InvalidOptionsError } from '../errors/invalid-options-error'
import type { GaugeMerge, MetricFamilySnapshot, MetricsSnapshot, MetricType, SeriesSnapshot } from './snapshot'

/** Label value that series past a family's `maxSeries` are folded into, so a flood of names cannot exhaust memory. */
export const OVERFLOW_LABEL = '(other)'

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/

interface FamilySpec {
  readonly name: string
  readonly help: string
  readonly labelNames: readonly string[]
}

interface Series {
  readonly labels: readonly string[]
  value: number
  counts?: number[]
  sum: number
}

/** The shared part of counters, gauges and histograms: labelled series with a bound on how many. */
abstract class Family {
  protected readonly series = new Map<string, Series>()

  constructor(
    readonly type: MetricType,
    readonly spec: FamilySpec,
    private readonly maxSeries: number,
  ) {}

  protected at(labels: readonly string[]): Series {
    if (labels.length !== this.spec.labelNames.length) {
      throw new InvalidOptionsError(
        `metric ${this.spec.name} takes labels (${this.spec.labelNames.join(', ')}), got ${labels.length} values`,
      )
    }
    let key = labels.join('\u0000')
    let found = this.series.get(key)
    if (found) return found
    let values = labels
    if (this.series.size >= this.maxSeries) {
      values = labels.map(() => OVERFLOW_LABEL)
      key = values.join('\u0000')
      found = this.series.get(key)
      if (found) return found
    }
    const created = this.create(values)
    this.series.set(key, created)
    return created
  }

  protected create(labels: readonly string[]): Series {
    return { labels, value: 0, sum: 0 }
  }

  /** Forget every series (gauges re-read from scratch). */
  reset(): void {
    this.series.clear()
  }

  snapshot(): MetricFamilySnapshot {
    return {
      name: this.spec.name,
      help: this.spec.help,
      type: this.type,
      labelNames: this.spec.labelNames,
      series: [...this.series.values()].map((s) => this.seriesSnapshot(s)),
    }
  }

  protected seriesSnapshot(s: Series): SeriesSnapshot {
    return { labels: s.labels, value: s.value }
  }
}

export class Counter extends Family {
  constructor(spec: FamilySpec, maxSeries: number) {
    super('counter', spec, maxSeries)
  }

  inc(labels: readonly string[], by = 1): void {
    if (!(by >= 0)) throw new InvalidOptionsError(`counter ${this.spec.name} can only go up, got ${by}`)
    this.at(labels).value += by
  }
}

export class Gauge extends Family {
  constructor(
    spec: FamilySpec,
    maxSeries: number,
    private readonly merge: GaugeMerge,
  ) {
    super('gauge', spec, maxSeries)
  }

  set(labels: readonly string[], value: number): void {
    this.at(labels).value = value
  }

  inc(labels: readonly string[], by = 1): void {
    this.at(labels).value += by
  }

  override snapshot(): MetricFamilySnapshot {
    return { ...super.snapshot(), merge: this.merge }
  }
}

export class Histogram extends Family {
  constructor(
    spec: FamilySpec,
    maxSeries: number,
    readonly buckets: readonly number[],
  ) {
    super('histogram', spec, maxSeries)
  }

  observe(labels: readonly string[], value: number): void {
    const s = this.at(labels)
    let i = 0
    while (i < this.buckets.length && value > this.buckets[i]!) i++
    s.counts![i]!++
    s.sum += value
  }

  protected override create(labels: readonly string[]): Series {
    return { labels, value: 0, sum: 0, counts: new Array<number>(this.buckets.length + 1).fill(0) }
  }

  override snapshot(): MetricFamilySnapshot {
    return { ...super.snapshot(), buckets: this.buckets }
  }

  protected override seriesSnapshot(s: Series): SeriesSnapshot {
    return { labels: s.labels, counts: [...s.counts!], sum: s.sum }
  }
}

/** Metric families of one process. Names and labels follow Prometheus' rules; each name is registered once. */
export class MetricsRegistry {
  private readonly families = new Map<string, Family>()

  /** @param maxSeries label combinations kept per family; past it new ones are counted under `(other)`. */
  constructor(private readonly maxSeries = 1000) {}

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(this.spec(name, help, labelNames), this.maxSeries))
  }

  gauge(name: string, help: string, labelNames: readonly string[] = [], merge: GaugeMerge = 'sum'): Gauge {
    return this.add(new Gauge(this.spec(name, help, labelNames), this.maxSeries, merge))
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram {
    if (buckets.length === 0 || buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!))) {
      throw new InvalidOptionsError(`histogram ${name} needs finite buckets in ascending order, got [${buckets}]`)
    }
    return this.add(new Histogram(this.spec(name, help, labelNames), this.maxSeries, buckets))
  }

  snapshot(at = Date.now()): MetricsSnapshot {
    return { at, families: [...this.families.values()].map((f) => f.snapshot()) }
  }

  private spec(name: string, help: string, labelNames: readonly string[]): FamilySpec {
    if (!NAME.test(name)) throw new InvalidOptionsError(`"${name}" is not a valid Prometheus metric name`)
    const bad = labelNames.find((l) => !LABEL.test(l) || l.startsWith('__') || l === 'le')
    if (bad !== undefined) throw new InvalidOptionsError(`"${bad}" is not a usable label name (metric ${name})`)
    if (this.families.has(name)) throw new InvalidOptionsError(`metric ${name} is already registered`)
    return { name, help, labelNames: [...labelNames] }
  }

  private add<F extends Family>(family: F): F {
    this.families.set(family.spec.name, family)
    return family
  }
}
