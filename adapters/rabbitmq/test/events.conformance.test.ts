import { runEventStreamConformance } from '@conveyor/conformance'
import { createRabbitMQEventStream, eventStreamQueue } from '@conveyor/rabbitmq'
import { AMQP_URL } from '@conveyor/test-support'
import { connect } from 'amqplib'

runEventStreamConformance({
  name: 'rabbitmq',
  createStream: ({ namespace }, retention) =>
    createRabbitMQEventStream({ url: AMQP_URL, prefix: namespace, ...(retention ? { retention } : {}) }),
  skip: {
    'events.retention-length':
      'RabbitMQ streams are bounded by bytes and age, dropping whole segments; the adapter test checks max-length-bytes',
  },
  cleanup: async ({ namespace }) => {
    const connection = await connect(AMQP_URL)
    const channel = await connection.createChannel()
    await channel.deleteQueue(eventStreamQueue(namespace)).catch(() => undefined)
    await connection.close()
  },
})
