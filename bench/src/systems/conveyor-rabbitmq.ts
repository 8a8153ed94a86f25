import { deleteQueues } from '../util/amqp'
import { namespace } from '../util/names'
import { conveyorInstance } from './conveyor-app'
import { type BenchSystem, UnavailableError } from './system'

/** Conveyor on `@conveyor/rabbitmq` with the adapter's defaults (classic queues, publisher confirms). */
export const conveyorRabbitMQ: BenchSystem = {
  id: 'conveyor-rabbitmq',
  broker: 'rabbitmq',
  family: 'conveyor',
  description: 'Conveyor app on createRabbitMQBroker, adapter defaults (classic queue, confirms)',
  async create(env, attachTo) {
    const { createRabbitMQBroker, queueNames, DEFAULT_DELAY_LEVELS } = await import('@conveyor/rabbitmq').catch(
      (error: unknown) => {
        throw new UnavailableError(`@conveyor/rabbitmq does not load: ${(error as Error).message}`)
      },
    )
    const ns = attachTo ?? namespace('conveyor')
    const broker = createRabbitMQBroker({ url: env.amqpUrl, prefix: ns, connectionName: ns, logger: false })
    const names = queueNames(ns, 'q', DEFAULT_DELAY_LEVELS)
    return conveyorInstance(broker, ns, () =>
      deleteQueues(env.amqpUrl, [names.work, names.dead, ...names.delays.map((d) => d.name)]),
    )
  },
}
