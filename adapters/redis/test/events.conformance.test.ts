import { runEventStreamConformance } from '@conveyor/conformance'
import { deletePrefix, REDIS_URL, rawRedis } from '@conveyor/test-support'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll } from 'vitest'
import { createRedisEventStream, createRedisTaskHistory } from '../src/index'

let raw: Redis
beforeAll(async () => {
  raw = await rawRedis()
})
afterAll(() => raw.disconnect())

runEventStreamConformance({
  name: 'redis',
  createStream: ({ namespace }, retention) =>
    createRedisEventStream({ url: REDIS_URL, prefix: namespace, ...(retention ? { retention } : {}) }),
  createHistory: ({ namespace }, retention) =>
    createRedisTaskHistory({ url: REDIS_URL, prefix: namespace, ...(retention ? { retention } : {}) }),
  cleanup: ({ namespace }) => deletePrefix(raw, namespace),
})
