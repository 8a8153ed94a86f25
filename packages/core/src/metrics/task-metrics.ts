import { InvalidOptionsError } from '../errors/invalid-options-error'
import { DEFAULT_DURATION_BUCKETS } from './app-metrics'
import { type Counter, type Gauge, type Histogram, MetricsRegistry } from './registry'
import type { GaugeMerge, MetricFamilySnapshot } from './snapshot'

/** Label values of one observation, by label name; numbers are written as text. */
export type MetricLabels = Readonly<Record<string, string | number>>

interface DeclarationBase {
  readonly help: string
  /** Labels the task sets on each observation, beside `task` (added by Conveyor). Defaults to none. */
  readonly labelNames?: readonly string[]
}

export interface CounterDeclaration extends DeclarationBase {
  readonly type: 'counter'
}

export interface GaugeDeclaration extends DeclarationBase {
  readonly type: 'gauge'
  /** Across worker processes (`conveyor worker`'s children): `sum` (default) or the `latest` reading. */
  readonly merge?: GaugeMerge
}

export interface HistogramDeclaration extends DeclarationBase {
  readonly type: 'histogram'
  /** Bucket upper bounds, ascending. Defaults to Conveyor's duration buckets (5 ms to 5 min, in seconds). */
  readonly buckets?: readonly number[]
}

/** One metric tasks may record through `ctx.metrics`. */
export type MetricDeclaration = CounterDeclaration | GaugeDeclaration | HistogramDeclaration

/** `createApp({ taskMetrics })`: the metrics tasks record, exported beside Conveyor's by `collectMetrics`. */
export interface TaskMetricsOptions {
  /**
   * The metrics, by Prometheus name (`emails_sent_total`, `render_seconds`); names starting with `conveyor_` are
   * Conveyor's own. Each gets a `task` label first, then its `labelNames`.
   */
  readonly declare: Readonly<Record<string, MetricDeclaration>>
  /**
   * Label combinations kept per metric; past it new ones are counted under `(other)` (the guard `collectMetrics`
   * puts on Conveyor's own metrics, with the same default). Defaults to 1000.
   */
  readonly maxSeries?: number
}

export interface TaskCounter {
  inc(by?: number): void
  inc(labels: MetricLabels, by?: number): void
}

export interface TaskGauge {
  set(value: number): void
  set(labels: MetricLabels, value: number): void
  inc(by?: number): void
  inc(labels: MetricLabels, by?: number): void
  dec(by?: number): void
  dec(labels: MetricLabels, by?: number): void
}

export interface TaskHistogram {
  observe(value: number): void
  observe(labels: MetricLabels, value: number): void
  /** Start timing; the returned function observes the seconds elapsed (with labels given then) and returns them. */
  startTimer(labels?: MetricLabels): (labels?: MetricLabels) => number
}

/**
 * `ctx.metrics`: the declared metrics, recorded with this task's name as their `task` label. Asking for a name that
 * is not declared, or declared as another type, throws `InvalidOptionsError` (a typo must not go unseen), and so
 * does a label that is not declared.
 */
export interface TaskMetrics {
  counter(name: string): TaskCounter
  gauge(name: string): TaskGauge
  histogram(name: string): TaskHistogram
}

type Family = Counter | Gauge | Histogram

/** The metrics an app's tasks record (`app.taskMetrics`); `collectMetrics` exports them with Conveyor's. */
export class TaskMetricsRegistry {
  private readonly registry: MetricsRegistry
  private readonly declared = new Map<string, { readonly type: MetricDeclaration['type']; readonly family: Family }>()
  private readonly views = new Map<string, TaskMetrics>()

  constructor(options: TaskMetricsOptions = { declare: {} }) {
    const maxSeries = options.maxSeries ?? 1000
    if (!(Number.isInteger(maxSeries) && maxSeries >= 1)) {
      throw new InvalidOptionsError(`taskMetrics.maxSeries must be an integer ≥ 1, got ${maxSeries}`)
    }
    this.registry = new MetricsRegistry(maxSeries)
    for (const [name, declaration] of Object.entries(options.declare)) this.add(name, declaration)
  }

  /** What `ctx.metrics` is for runs of `task`. */
  forTask(task: string): TaskMetrics {
    let view = this.views.get(task)
    if (view === undefined) {
      view = {
        counter: (name) => counterView(this.family(name, 'counter') as Counter, task),
        gauge: (name) => gaugeView(this.family(name, 'gauge') as Gauge, task),
        histogram: (name) => histogramView(this.family(name, 'histogram') as Histogram, task),
      }
      this.views.set(task, view)
    }
    return view
  }

  /** The declared metrics and what was recorded, as snapshot families. */
  families(): readonly MetricFamilySnapshot[] {
    return this.registry.snapshot().families
  }

  private add(name: string, declaration: MetricDeclaration): void {
    if (name.startsWith('conveyor_')) {
      throw new InvalidOptionsError(`taskMetrics: "${name}": names starting with conveyor_ are Conveyor's own`)
    }
    const labelNames = declaration.labelNames ?? []
    if (labelNames.includes('task')) {
      throw new InvalidOptionsError(`taskMetrics: "${name}": the task label is added by Conveyor; leave it out`)
    }
    const labels = ['task', ...labelNames]
    const family =
      declaration.type === 'counter'
        ? this.registry.counter(name, declaration.help, labels)
        : declaration.type === 'gauge'
          ? this.registry.gauge(name, declaration.help, labels, declaration.merge ?? 'sum')
          : declaration.type === 'histogram'
            ? this.registry.histogram(name, declaration.help, labels, declaration.buckets ?? DEFAULT_DURATION_BUCKETS)
            : undefined
    if (family === undefined) {
      const { type } = declaration as { type: unknown }
      throw new InvalidOptionsError(`taskMetrics: "${name}": type must be counter, gauge or histogram, got ${type}`)
    }
    this.declared.set(name, { type: declaration.type, family })
  }

  private family(name: string, type: MetricDeclaration['type']): Family {
    const found = this.declared.get(name)
    if (found === undefined) {
      throw new InvalidOptionsError(
        `ctx.metrics.${type}("${name}"): no such metric; declare it in createApp({ taskMetrics })`,
      )
    }
    if (found.type !== type) {
      throw new InvalidOptionsError(`ctx.metrics.${type}("${name}"): it is declared as a ${found.type}`)
    }
    return found.family
  }
}

/** The label values of an observation in the family's order, `task` first; an undeclared label throws. */
function labelValues(family: Family, task: string, labels: MetricLabels | undefined): string[] {
  const names = family.spec.labelNames
  const values = [task]
  for (let i = 1; i < names.length; i++) {
    const value = labels?.[names[i]!]
    values.push(value === undefined ? '' : String(value))
  }
  if (labels !== undefined) {
    for (const key of Object.keys(labels)) {
      if (!names.includes(key) || key === 'task') {
        throw new InvalidOptionsError(`metric ${family.spec.name} has no label "${key}" (declared: ${names.slice(1)})`)
      }
    }
  }
  return values
}

/** The (labels?, number?) overloads: a number first means no labels. */
function args(a: MetricLabels | number | undefined, b: number | undefined, fallback: number) {
  return typeof a === 'number' || a === undefined
    ? { labels: undefined, value: a ?? fallback }
    : { labels: a, value: b ?? fallback }
}

function counterView(family: Counter, task: string): TaskCounter {
  return {
    inc(a?: MetricLabels | number, b?: number) {
      const { labels, value } = args(a, b, 1)
      family.inc(labelValues(family, task, labels), value)
    },
  }
}

function gaugeView(family: Gauge, task: string): TaskGauge {
  return {
    set(a: MetricLabels | number, b?: number) {
      const { labels, value } = args(a, b, 0)
      family.set(labelValues(family, task, labels), value)
    },
    inc(a?: MetricLabels | number, b?: number) {
      const { labels, value } = args(a, b, 1)
      family.inc(labelValues(family, task, labels), value)
    },
    dec(a?: MetricLabels | number, b?: number) {
      const { labels, value } = args(a, b, 1)
      family.inc(labelValues(family, task, labels), -value)
    },
  }
}

function histogramView(family: Histogram, task: string): TaskHistogram {
  const observe = (labels: MetricLabels | undefined, value: number) => {
    if (!Number.isFinite(value)) throw new InvalidOptionsError(`histogram ${family.spec.name}: ${value} is not finite`)
    family.observe(labelValues(family, task, labels), value)
  }
  return {
    observe(a: MetricLabels | number, b?: number) {
      const { labels, value } = args(a, b, 0)
      observe(labels, value)
    },
    startTimer(startLabels?: MetricLabels) {
      const start = process.hrtime.bigint()
      return (endLabels?: MetricLabels) => {
        const seconds = Number(process.hrtime.bigint() - start) / 1e9
        observe(startLabels || endLabels ? { ...startLabels, ...endLabels } : undefined, seconds)
        return seconds
      }
    },
  }
}
