export {
  type AppMetrics,
  collectMetrics,
  DEFAULT_DURATION_BUCKETS,
  DEFAULT_WAIT_BUCKETS,
  type MetricsOptions,
} from './app-metrics'
export { type MetricsSource, type PromClientRegistry, registerPromClientMetrics } from './prom-client'
export { mergeSnapshots, PROMETHEUS_CONTENT_TYPE, renderPrometheus } from './prometheus'
export { Counter, Gauge, Histogram, MetricsRegistry, OVERFLOW_LABEL } from './registry'
export { handleMetricsRequest, type MetricsServer, type ServeMetricsOptions, serveMetrics } from './serve'
export type { GaugeMerge, MetricFamilySnapshot, MetricsSnapshot, MetricType, SeriesSnapshot } from './snapshot'
export {
  type CounterDeclaration,
  type GaugeDeclaration,
  type HistogramDeclaration,
  type MetricDeclaration,
  type MetricLabels,
  type TaskCounter,
  type TaskGauge,
  type TaskHistogram,
  type TaskMetrics,
  type TaskMetricsOptions,
  TaskMetricsRegistry,
} from './task-metrics'
