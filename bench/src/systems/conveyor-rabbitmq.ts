import { deleteQueues } from '../util/amqp'
import { namespace } from '../util/names'
import { brokerFactory } from './adapter-factory'
import { conveyorInstance } from './conveyor-app'
import type { BenchSystem } from './system'

interface RabbitMQBrokerOptions {
  readonly url: string
  readonly prefix: string
  readonly connectionName: string
  readonly logger: false
}

/** The adapter's default delay levels, to name (and delete) the TTL queues it declares beside the work queue. */
const DELAY_LEVELS = ['100ms', '500ms', '2s', '10s', '1m', '5m', '30m', '3h']

/** Conveyor on `@conveyor/rabbitmq`, adapter defaults (classic queues). */
export const conveyorRabbitMQ: BenchSystem = {
  id: 'conveyor-rabbitmq',
  broker: 'rabbitmq',
  family: 'conveyor',
  description: 'Conveyor app on createRabbitMQBroker, adapter defaults (classic queue, confirms)',
  async create(env, attachTo) {
    const factory = await brokerFactory<RabbitMQBrokerOptions>('@conveyor/rabbitmq', 'createRabbitMQBroker')
    const ns = attachTo ?? namespace('conveyor')
    const broker = factory({ url: env.amqpUrl, prefix: ns, connectionName: ns, logger: false })
    const work = `${ns}.q`
    return conveyorInstance(broker, ns, () =>
      deleteQueues(env.amqpUrl, [work, `${work}.dead`, ...DELAY_LEVELS.map((level) => `${work}.delay.${level}`)]),
    )
  },
}
