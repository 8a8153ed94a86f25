import { runEventStreamConformance } from '@conveyor/conformance'
import { createRabbitMQEventStream } from '@conveyor/rabbitmq'
import { AMQP_URL } from '@conveyor/test-support'
import { deleteEventStream } from './helpers'

runEventStreamConformance({
  name: 'rabbitmq',
  createStream: ({ namespace }, retention) =>
    createRabbitMQEventStream({ url: AMQP_URL, prefix: namespace, ...(retention ? { retention } : {}) }),
  skip: {
    'events.retention-length':
      'RabbitMQ streams are bounded by bytes and age, dropping whole segments; the adapter test checks max-length-bytes',
  },
  cleanup: async ({ namespace }) => {
    await deleteEventStream(namespace)
  },
})
