import { runBrokerConformance, runResultBackendConformance } from '@conveyor/conformance'
import type { DeadLetter } from '@conveyor/core'
import { createRedisBroker, createRedisResultBackend, queueKeys } from '../src/index'
import { deletePrefix, REDIS_URL, rawRedis } from './helpers'

// The namespace is the key prefix: a second broker on it is a restarted process on the same Redis.
runBrokerConformance({
  name: 'redis',
  createBroker: ({ namespace }) =>
    createRedisBroker({ url: REDIS_URL, prefix: namespace, leaseMs: 1000, logger: false }),
  inspect: async ({ namespace }) => {
    const raw = await rawRedis()
    return {
      ready: async (queue) => {
        const keys = queueKeys(namespace, queue)
        const lengths = await Promise.all(keys.ready.map((key) => raw.llen(key)))
        return lengths.reduce((a, b) => a + b, 0)
      },
      deadLetters: async (queue) => {
        const keys = queueKeys(namespace, queue)
        const entries = await raw.zrange(keys.dead, 0, -1)
        if (entries.length === 0) return []
        const records = await raw.hmget(keys.deadRecords, ...entries)
        return records.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as DeadLetter)
      },
      close: async () => void raw.disconnect(),
    }
  },
  cleanup: async ({ namespace }) => {
    const raw = await rawRedis()
    await deletePrefix(raw, namespace)
    raw.disconnect()
  },
})

runResultBackendConformance({
  name: 'redis',
  createBackend: ({ namespace }) => createRedisResultBackend({ url: REDIS_URL, prefix: namespace, logger: false }),
  cleanup: async ({ namespace }) => {
    const raw = await rawRedis()
    await deletePrefix(raw, namespace)
    raw.disconnect()
  },
})
