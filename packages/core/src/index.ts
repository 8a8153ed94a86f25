/**
 * The user API: apps, tasks, workers, results, workflows, errors, metrics, events, and what an app module gives the
 * CLI (schedules, rate limits, alerts). Broker plugins and tools built on core import their contracts, codec and
 * helpers from `@conveyor/core/adapter`.
 *
 * @packageDocumentation
 * @module @conveyor/core
 */

// Alerts (the app module's `alerts` for `conveyor alerts`, or run in-process)
export { type Alerts, type AlertsConfig, type AlertsOptions, createAlerts } from './alerts/evaluator'
export { logNotifier, type WebhookNotifier, type WebhookNotifierOptions, webhookNotifier } from './alerts/notifiers'
export type {
  AlertNotification,
  AlertRule,
  AlertState,
  BacklogRule,
  CustomRule,
  DeadLettersGrowingRule,
  FailureRateRule,
  MissedTickRule,
  Notifier,
  NoWorkerRule,
  OldestWaitingRule,
} from './alerts/rules'
// Apps and tasks
export { type App, createApp, type Task } from './app/create-app'
export type {
  AppDefaults,
  AppOptions,
  EnqueueManyOptions,
  EnqueueOptions,
  JobHandle,
  ResultOptions,
} from './app/options'
// What an app is given (its options name these); plugin authors find the whole contracts in `/adapter`.
export type { UrlAdapter } from './contracts/adapter'
export type { Broker } from './contracts/broker'
export type {
  ConveyorEvent,
  EventPosition,
  EventType,
  StoredEvent,
  TaskEvent,
  TaskEventBase,
  TaskEvents,
  TaskEventType,
  WorkerEventBase,
  WorkerEvents,
  WorkerEventType,
} from './contracts/event-stream'
export type { JsonObject, JsonValue } from './contracts/json'
// Results and task history
export type { ResultBackend, TaskRecord, TaskState } from './contracts/result-backend'
export { TERMINAL_STATES } from './contracts/result-backend'
export type {
  TaskAttempt,
  TaskHappening,
  TaskHistory,
  TaskRun,
  TaskRunDetail,
  TaskRunPage,
  TaskRunQuery,
} from './contracts/task-history'
// Errors
export * from './errors/index'
// Events
export { AppEvents, type AppEventsOptions, EVENT_TYPES, type SubscribeOptions } from './events/app-events'
export type { EventPublishStats } from './events/event-publisher'
export type { Logger } from './logging/logger'
// Metrics
export {
  type AppMetrics,
  collectMetrics,
  DEFAULT_DURATION_BUCKETS,
  DEFAULT_WAIT_BUCKETS,
  type MetricsOptions,
} from './metrics/app-metrics'
export { type MetricsSource, type PromClientRegistry, registerPromClientMetrics } from './metrics/prom-client'
export { renderPrometheus } from './metrics/prometheus'
export { handleMetricsRequest, type MetricsServer, type ServeMetricsOptions, serveMetrics } from './metrics/serve'
export type {
  CounterDeclaration,
  GaugeDeclaration,
  HistogramDeclaration,
  MetricDeclaration,
  MetricLabels,
  TaskCounter,
  TaskGauge,
  TaskHistogram,
  TaskMetrics,
  TaskMetricsOptions,
} from './metrics/task-metrics'
export { composeHooks } from './ops/compose-hooks'
export type { CoordinationStore } from './ops/coordination'
export { type Heartbeat, type HeartbeatOptions, startHeartbeat } from './ops/heartbeat'
export { type RateLimit, type RateLimitHooksOptions, type RateLimits, rateLimitHooks } from './ops/rate-limit'
export { type RevokeOptions, revokeHooks } from './ops/revoke'
export type { MisfirePolicy, ScheduleSpec } from './ops/schedule'
export {
  createScheduler,
  type ScheduleFired,
  type Scheduler,
  type SchedulerClock,
  type SchedulerOptions,
  type ScheduleStatus,
} from './ops/scheduler'
// Retries
export { type Backoff, type ExponentialBackoffOptions, exponential, fixed, type Jitter } from './retry/backoff'
export type { RetryOptions } from './retry/policy'
export type { Route, RouteMatcher, RouteTarget } from './routing/router'
export type { StandardSchemaV1 } from './task/standard-schema'
export {
  type DeclaredTask,
  declareTask,
  type InputOf,
  type OutputOf,
  type TaskContext,
  type TaskDeclaration,
  type TaskHandler,
  type TaskOptions,
} from './task/task'
// Workers
export type {
  BeforeRunVerdict,
  DeliveryInfo,
  ExecutionHooks,
  ExecutionOutcome,
  RegisteredTask,
} from './worker/runtime'
export type { Worker, WorkerOptions, WorkerState } from './worker/worker'
// Workflows
export type { WorkflowOptions } from './workflow/engine'
export {
  chain,
  chord,
  type FailurePolicy,
  type Flow,
  group,
  type Settled,
  type StepInput,
  type StepInputMismatch,
  type StepOptions,
  type StepOutput,
} from './workflow/flow'
export type { WorkflowHandle, WorkflowMember, WorkflowRecord } from './workflow/handle'
