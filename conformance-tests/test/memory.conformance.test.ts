import { runBrokerConformance, runResultBackendConformance } from '@conveyor/conformance'
import type { ResultBackend } from '@conveyor/core'
import {
  createMemoryBroker,
  createMemoryResultBackend,
  createMemoryStore,
  type MemoryStore,
} from '@conveyor/core/adapter'
import { perNamespace } from '@conveyor/test-support'

// One store per namespace: createBroker with the same namespace is a restarted process on the same "server".
const stores = perNamespace<MemoryStore>(createMemoryStore)

runBrokerConformance({
  name: 'memory',
  createBroker: ({ namespace }) => createMemoryBroker({ store: stores.get(namespace), leaseMs: 400 }),
  // The raw view: the store itself, not the broker under test.
  inspect: ({ namespace }) => ({
    ready: async (queue) => stores.get(namespace).stats(queue).ready,
    deadLetters: async (queue) => structuredClone(stores.get(namespace).deadLetters(queue)),
    close: async () => {},
  }),
  cleanup: stores.drop,
  configurations: [
    {
      // A small size limit, so a move's new copy can be refused (the test builds messages at the limit).
      name: 'small messages',
      run: ['paths.refused-move-keeps-message'],
      createBroker: ({ namespace }) =>
        createMemoryBroker({ store: stores.get(namespace), leaseMs: 400, maxMessageBytes: 65_536 }),
    },
  ],
})

// The memory backend lives in one process, so "another instance" is the same backend.
const backends = perNamespace<ResultBackend>(createMemoryResultBackend)

runResultBackendConformance({
  name: 'memory',
  createBackend: ({ namespace }) => backends.get(namespace),
  cleanup: backends.drop,
})
