/**
 * The Redis broker, result backend and coordination store.
 *
 * @packageDocumentation
 * @module @conveyor/redis
 */
export { createRedisBroker } from './broker'
export { createRedisCoordination, type RedisCoordinationOptions } from './coordination'
export { ReplicationTimeoutError } from './errors/replication-timeout-error'
export { createRedisEventStream, eventStreamKey, type RedisEventStreamOptions } from './event-stream'
export { prefixPattern, type QueueKeys, queueKeys } from './keys'
export type {
  RedisBrokerOptions,
  RedisClient,
  RedisConnectionOptions,
  RedisDurability,
  RedisLogger,
  RedisResultBackendOptions,
} from './options'
export { createRedisResultBackend } from './result-backend'
export { createRedisTaskHistory, historyTag, type RedisTaskHistoryOptions } from './task-history'
export { redisAdapter } from './url-adapter'
