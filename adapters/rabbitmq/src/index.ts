/**
 * The RabbitMQ broker and RPC results.
 *
 * @packageDocumentation
 * @module @conveyor/rabbitmq
 */
export { createRabbitMQBroker, type RabbitMQBroker } from './broker'
export { decodeDeadLetterMessage } from './dead-letters'
export { DeadLettersBusyError } from './errors/dead-letters-busy-error'
export { PublishNackedError } from './errors/publish-nacked-error'
export { UnroutableError } from './errors/unroutable-error'
export {
  createRabbitMQEventStream,
  eventStreamQueue,
  type RabbitMQEventStreamOptions,
} from './event-stream'
export { DEAD_HEADER, DELIVERIES_HEADER } from './headers'
export { formatLevel, type QueueNames, queueNames } from './names'
export { DEFAULT_HEARTBEAT_SECONDS, type RabbitMQUrl } from './nodes'
export {
  amqpPriority,
  DEFAULT_DELAY_LEVELS,
  type RabbitMQBrokerOptions,
  type RabbitMQLogger,
  type RabbitMQQueueType,
  type RabbitMQReconnectOptions,
} from './options'
export { catalogName } from './queue-catalog'
export {
  createRabbitMQResultBackend,
  createRabbitMQRpcResults,
  type RabbitMQResultBackend,
  type RabbitMQResultBackendOptions,
  type RabbitMQRpcResults,
  type RabbitMQRpcResultsOptions,
  REPLY_TO_HEADER,
} from './result-backend'
export { rabbitmqAdapter } from './url-adapter'
