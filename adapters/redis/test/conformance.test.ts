import { runBrokerConformance, runResultBackendConformance } from '@conveyor/conformance'
import { deletePrefix, REDIS_URL, rawRedis } from '@conveyor/test-support'
import { createRedisBroker, createRedisResultBackend } from '../src/index'
import { rawInspector } from './helpers'

// The namespace is the key prefix: a second broker on it is a restarted process on the same Redis.
runBrokerConformance({
  name: 'redis',
  createBroker: ({ namespace }) =>
    createRedisBroker({ url: REDIS_URL, prefix: namespace, leaseMs: 1000, logger: false }),
  inspect: async ({ namespace }) => {
    const raw = await rawRedis()
    return rawInspector(raw, namespace, async () => void raw.disconnect())
  },
  cleanup: async ({ namespace }) => {
    const raw = await rawRedis()
    await deletePrefix(raw, namespace)
    raw.disconnect()
  },
  configurations: [
    {
      // A small size limit, so a move's new copy can be refused (the test builds messages at the limit).
      name: 'small messages',
      run: ['paths.refused-move-keeps-message'],
      createBroker: ({ namespace }) =>
        createRedisBroker({ url: REDIS_URL, prefix: namespace, leaseMs: 1000, logger: false, maxMessageBytes: 65_536 }),
    },
  ],
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
