/**
 * For broker plugins and tools built on core (the CLI, the dashboard): the contracts a broker, result backend,
 * coordination store or event stream implements, the envelope codec, the in-memory implementations, and the helpers
 * hosts use (worker hooks' internals, tick planning, event folding, metrics registry, redaction). Apps import
 * `@conveyor/core`.
 *
 * @packageDocumentation
 * @module @conveyor/core/adapter
 */

// Alerts engine internals (inputs, probes, state)
export { ALERTS_LEASE, type AlertStatus } from './alerts/evaluator'
export {
  type AlertInputs,
  appInputs,
  localOutcomes,
  type OutcomeFeed,
  streamOutcomes,
  type TaskOutcome,
} from './alerts/inputs'
export { alertText } from './alerts/notifiers'
export { validateRules } from './alerts/probes'
export { AlertTracker, type Transition } from './alerts/state'
// In-memory implementations (what `memory://` resolves to)
export { createMemoryBroker, type MemoryBrokerOptions } from './broker/memory-broker'
export { createMemoryStore, MemoryStore } from './broker/memory-store'
export { replayedEnvelope } from './broker/replayed-envelope'
// Contracts
export * from './contracts/index'
// Codec and limits
export { assertEnvelope, decodeEnvelope, encodeEnvelope, utf8Length } from './envelope/codec'
export { deadLetterJson, MAX_RAW_DEAD_LETTER } from './envelope/dead-letter-json'
export { toErrorInfo } from './envelope/error-info'
export { MAX_INPUT_DEPTH, MAX_JSON_DEPTH } from './envelope/json-depth'
export { safeJsonParse } from './envelope/safe-json'
// Events: publishing, following and folding a stream
export { encodeEvent, joinEncoded } from './events/encode-event'
export { EventBatchBuilder } from './events/event-batch-builder'
export { EventPublisher, type EventPublisherOptions } from './events/event-publisher'
export { batchText, decodeBatchNames, decodeEventBatch } from './events/event-rows'
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
// Metrics registry and snapshots (merged across processes by the supervisor)
export { mergeSnapshots, PROMETHEUS_CONTENT_TYPE } from './metrics/prometheus'
export { Counter, Gauge, Histogram, MetricsRegistry, OVERFLOW_LABEL } from './metrics/registry'
export type { GaugeMerge, MetricFamilySnapshot, MetricsSnapshot, MetricType, SeriesSnapshot } from './metrics/snapshot'
export { TaskMetricsRegistry } from './metrics/task-metrics'
export type { CoordinationStore, IdempotencyClaim, Lease, WorkerHeartbeat } from './ops/coordination'
// Operations internals hosts use (the CLI's supervisor and scheduler, the dashboard)
export {
  DEFAULT_HARD_LIMIT_KILL_TTL_MS,
  type HardLimitHooks,
  type HardLimitHooksOptions,
  type HardLimitKill,
  hardLimitHooks,
  hardLimitKey,
  recordHardLimitKill,
} from './ops/hard-limit'
export { createMemoryCoordination, type MemoryCoordinationOptions } from './ops/memory-coordination'
export { type ReplayDeadLettersOptions, replayDeadLetters } from './ops/replay-dead-letters'
export { DEFAULT_REVOKE_TTL_MS, revokeTask, terminateKey } from './ops/revoke'
export { nextTick, nextTicks, planTicks, type TickPlan, validateSchedules } from './ops/schedule'
export { createMemoryResultBackend } from './results/memory-result-backend'
export { type RecordWaiter, waitForRecord } from './results/wait-for-record'
export { decideRetry, type RetryDecision } from './retry/policy'
export { createRouter } from './routing/router'
export { newTaskId } from './util/ids'
export { longTimeout, MAX_TIMER_MS } from './util/long-timeout'
export { type PollOptions, pollUntil } from './util/poll'
export { REDACTED, redactError, redactSecrets, redactUrl } from './util/redact'
export { sleep } from './util/sleep'
export { withTimeout } from './util/with-timeout'
export { WORKFLOW_TASK } from './workflow/engine'
