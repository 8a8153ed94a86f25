/**
 * Apps, tasks, workers, results, errors, metrics, and the contracts brokers implement.
 *
 * @packageDocumentation
 * @module @conveyor/core
 */
export * from './alerts/index'
export { type App, createApp, type Task } from './app/create-app'
export type { AppDefaults, AppOptions, EnqueueOptions, JobHandle, ResultOptions } from './app/options'
export { createMemoryBroker, type MemoryBrokerOptions } from './broker/memory-broker'
export { createMemoryStore, MemoryStore } from './broker/memory-store'
export * from './contracts/index'
export { assertEnvelope, decodeEnvelope, encodeEnvelope, utf8Length } from './envelope/codec'
export { deadLetterJson, MAX_RAW_DEAD_LETTER } from './envelope/dead-letter-json'
export { toErrorInfo } from './envelope/error-info'
export { MAX_INPUT_DEPTH, MAX_JSON_DEPTH } from './envelope/json-depth'
export { safeJsonParse } from './envelope/safe-json'
export * from './errors/index'
export { AppEvents, type AppEventsOptions, EVENT_TYPES, type SubscribeOptions } from './events/app-events'
export { encodeEvent, joinEncoded } from './events/encode-event'
export { EventPublisher, type EventPublisherOptions, type EventPublishStats } from './events/event-publisher'
export { type EventSink, TaskEventEmitter, type TaskEventName } from './events/events'
export {
  foldRun,
  MAX_RUN_LINES,
  phaseOf,
  type RunRecord,
  runDetail,
  runSummary,
  stateOfEvent,
} from './events/fold-run'
export { type FollowOptions, followIntoHistory } from './events/follow'
export { createMemoryEventStream, type MemoryEventStreamOptions } from './events/memory-event-stream'
export {
  checkLimit as checkHistoryLimit,
  createMemoryTaskHistory,
  DEFAULT_HISTORY_MAX_AGE_MS,
  type MemoryTaskHistoryOptions,
  parseCursor as parseHistoryCursor,
} from './events/memory-task-history'
export type { Logger } from './logging/logger'
export * from './metrics/index'
export * from './ops/index'
export { createMemoryResultBackend } from './results/memory-result-backend'
export { type Backoff, type ExponentialBackoffOptions, exponential, fixed, type Jitter } from './retry/backoff'
export { decideRetry, type RetryDecision, type RetryOptions } from './retry/policy'
export { createRouter, type Route, type RouteMatcher, type RouteTarget } from './routing/router'
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
export { newTaskId } from './util/ids'
export { REDACTED, redactError, redactSecrets, redactUrl } from './util/redact'
export type { BeforeRunVerdict, ExecutionHooks, ExecutionOutcome, RegisteredTask } from './worker/runtime'
export type { Worker, WorkerOptions, WorkerState } from './worker/worker'
export { WORKFLOW_TASK, type WorkflowOptions } from './workflow/engine'
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
