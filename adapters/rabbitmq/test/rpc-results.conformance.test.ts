import { runResultBackendConformance } from '@conveyor/conformance'
import { createRabbitMQResultBackend, type RabbitMQResultBackend } from '@conveyor/rabbitmq'
import { AMQP_URL, rawChannel } from '@conveyor/test-support'

const made = new Map<string, RabbitMQResultBackend[]>()

// A set without an envelope addresses the instance itself and travels through RabbitMQ (out on the default exchange,
// back on the instance's reply queue) before it resolves, so these tests exercise the wire, not just the memory map.
runResultBackendConformance({
  name: 'rabbitmq rpc',
  createBackend: ({ namespace }) => {
    const backend = createRabbitMQResultBackend({ url: AMQP_URL, prefix: namespace, logger: false })
    made.set(namespace, [...(made.get(namespace) ?? []), backend])
    return backend
  },
  cleanup: async ({ namespace }) => {
    const backends = made.get(namespace) ?? []
    made.delete(namespace)
    // Closing deleted them already (exclusive, auto-delete); this only guards against a failed close.
    const raw = await rawChannel()
    try {
      for (const backend of backends) await raw.channel.deleteQueue(backend.replyQueue)
    } finally {
      await raw.close()
    }
  },
  skip: {
    'results.cross-instance-wait':
      'records go to the one producer named in the run (its reply queue) and live in its memory; there is no store ' +
      'another instance reads — use the Redis result backend for results shared between processes',
  },
})
