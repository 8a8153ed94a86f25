export type { BrokerFactory, ResultBackendFactory, UrlAdapter, UrlAdapterContext } from './adapter'
export type { Broker, CloseOptions, ConsumeOptions, QueueSpec, QueueStats, Subscription } from './broker'
export type { BrokerCapabilities, DelayLateness } from './capabilities'
export { DEFAULT_CAPABILITIES } from './capabilities'
export type {
  DeadLetter,
  DeadLetterPage,
  DeadLetterReason,
  DeadLetterSelection,
  DeadLetterStore,
  ErrorInfo,
} from './dead-letter'
export type { Delivery, DeliveryHandler } from './delivery'
export type { Envelope } from './envelope'
export { MAX_ATTEMPTS_HEADER, MAX_PRIORITY, MIN_PRIORITY } from './envelope'
export type {
  ConveyorEvent,
  EncodedEventBatch,
  EventPage,
  EventPayload,
  EventPosition,
  EventReadOptions,
  EventRetention,
  EventStream,
  EventStreamOptions,
  EventType,
  StoredEvent,
  TaskEvent,
  TaskEventBase,
  TaskEvents,
  TaskEventType,
  WorkerEventBase,
  WorkerEvents,
  WorkerEventType,
} from './event-stream'
export type { JsonObject, JsonValue } from './json'
export type {
  ResultBackend,
  ResultBackendCapabilities,
  ResultSetOptions,
  ResultWaitOptions,
  TaskRecord,
  TaskState,
} from './result-backend'
export { TERMINAL_STATES } from './result-backend'
export type {
  HistoryRetention,
  TaskAttempt,
  TaskHappening,
  TaskHistory,
  TaskHistoryOptions,
  TaskRun,
  TaskRunDetail,
  TaskRunPage,
  TaskRunQuery,
} from './task-history'
export type { ProcessInfo, ProcessResult, ProcessSpan, SendSpan, Tracing, TracingInfo } from './tracing'
export type {
  CountOptions,
  GroupCount,
  GroupMember,
  WorkflowAdmission,
  WorkflowStore,
} from './workflow-store'
