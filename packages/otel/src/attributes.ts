/**
 * Attribute names of the OpenTelemetry messaging semantic conventions (v1.27+) that Conveyor's spans carry. Copied
 * rather than imported: they live in `@opentelemetry/semantic-conventions/incubating`, whose exports may change in
 * a minor release, and OpenTelemetry asks instrumentations to copy incubating names instead of depending on them.
 */
export const MESSAGING_SYSTEM = 'messaging.system'
export const MESSAGING_OPERATION_NAME = 'messaging.operation.name'
export const MESSAGING_OPERATION_TYPE = 'messaging.operation.type'
export const MESSAGING_DESTINATION_NAME = 'messaging.destination.name'
export const MESSAGING_MESSAGE_ID = 'messaging.message.id'
export const MESSAGING_MESSAGE_CONVERSATION_ID = 'messaging.message.conversation_id'
export const MESSAGING_BATCH_MESSAGE_COUNT = 'messaging.batch.message_count'
/** Stable (not incubating): the class of an error, here its `code` when it has one, else its name. */
export const ERROR_TYPE = 'error.type'

/** Conveyor's own attributes, under the `conveyor.` namespace the conventions leave to the library. */
export const CONVEYOR_TASK_NAME = 'conveyor.task.name'
export const CONVEYOR_TASK_ATTEMPT = 'conveyor.task.attempt'
export const CONVEYOR_TASK_MAX_ATTEMPTS = 'conveyor.task.max_attempts'
export const CONVEYOR_TASK_PRIORITY = 'conveyor.task.priority'
export const CONVEYOR_DELIVERY_COUNT = 'conveyor.delivery.count'
export const CONVEYOR_TASK_OUTCOME = 'conveyor.task.outcome'
export const CONVEYOR_DEAD_LETTER_REASON = 'conveyor.dead_letter.reason'
export const CONVEYOR_RETRY_DELAY_MS = 'conveyor.retry.delay_ms'
export const CONVEYOR_PARENT_ID = 'conveyor.task.parent_id'
export const CONVEYOR_WORKER_ID = 'conveyor.worker.id'
