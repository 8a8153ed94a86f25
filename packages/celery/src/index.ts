/**
 * Celery protocol v2 interop: brokers for Celery's wire layouts and result backends in Celery's formats.
 *
 * @packageDocumentation
 * @module @conveyor/celery
 */

export { createCeleryAmqpBroker } from './amqp/broker'
export { type CeleryAmqpBrokerOptions, deadQueueOf } from './amqp/options'
export { type CeleryRpcResultBackendOptions, createCeleryRpcResultBackend } from './amqp/rpc-results'
export { CeleryDecodeError, type CeleryDecodeReason } from './errors/celery-decode-error'
export { CeleryPayloadError } from './errors/celery-payload-error'
export {
  CORRELATION_ID_HEADER,
  celeryArguments,
  celeryToEnvelope,
  type DecodeContext,
  envelopeToCelery,
  GROUP_HEADER,
  ORIGIN_HEADER,
  REPLY_TO_HEADER,
} from './protocol/message'
export {
  CELERY_READY_STATES,
  type CeleryException,
  type CeleryResultMeta,
  type CeleryState,
  celeryMetaToRecord,
  recordToCeleryMeta,
} from './protocol/results'
export { fromCeleryTime, toCeleryTime } from './protocol/time'
export type {
  CeleryBody,
  CeleryCall,
  CeleryEmbed,
  CeleryHeaders,
  CeleryMessage,
  CeleryProperties,
} from './protocol/types'
export { createCeleryRedisBroker } from './redis/broker'
export {
  decodeKombu,
  encodeKombu,
  fromKombuPriority,
  KOMBU_PRIORITY_STEPS,
  kombuListKeys,
  toKombuPriority,
} from './redis/kombu-layout'
export type { CeleryLogger, CeleryRedisBrokerOptions } from './redis/options'
export {
  type CeleryRedisResultBackendOptions,
  celeryResultKey,
  createCeleryRedisResultBackend,
} from './redis/result-backend'
export { celeryTask } from './task'
