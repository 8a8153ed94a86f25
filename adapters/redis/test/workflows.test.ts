import { runWorkflowScenarios } from '@conveyor/conformance'
import { createApp } from '@conveyor/core'
import { deletePrefix, REDIS_URL, rawRedis } from '@conveyor/test-support'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll } from 'vitest'
import { redisAdapter } from '../src/index'

let raw: Redis
beforeAll(async () => {
  raw = await rawRedis()
})
afterAll(() => raw.disconnect())

runWorkflowScenarios({
  name: 'redis broker + redis results',
  large: true,
  createApp: ({ namespace }) => {
    const url = `${REDIS_URL}?prefix=${namespace}&leaseMs=5000`
    return createApp({
      broker: url,
      results: url,
      adapters: [redisAdapter],
      logger: false,
      defaults: { queue: `${namespace}-wf` },
    })
  },
  cleanup: ({ namespace }) => deletePrefix(raw, namespace),
})
