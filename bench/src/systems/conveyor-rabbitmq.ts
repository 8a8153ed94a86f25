import { deleteQueues } from '../util/amqp'
import { namespace } from '../util/names'
import { conveyorInstance } from './conveyor-app'
import { type BenchSystem, UnavailableError } from './system'

/** Conveyor on `@conveyor/rabbitmq` with the adapter's defaults (classic queues with 10 priorities, confirms). */
export const conveyorRabbitMQ: BenchSystem = conveyorRabbitMQSystem(
  'conveyor-rabbitmq',
  'Conveyor app on createRabbitMQBroker, adapter defaults (classic queue, x-max-priority 10, confirms)',
  {},
)

/** The same with `priorityLevels: 1`: plain classic queues, compared with raw amqplib on a plain queue. */
export const conveyorRabbitMQFifo: BenchSystem = conveyorRabbitMQSystem(
  'conveyor-rabbitmq-fifo',
  'Conveyor app on createRabbitMQBroker({ priorityLevels: 1 }): plain classic queue, confirms',
  { priorityLevels: 1 },
)

/** The defaults with cross-process events on: every task event to the RabbitMQ stream queue (no history: no store). */
export const conveyorRabbitMQEvents: BenchSystem = conveyorRabbitMQSystem(
  'conveyor-rabbitmq-events',
  'conveyor-rabbitmq with events on: every task event to a RabbitMQ stream queue (x-queue-type: stream)',
  {},
  { events: true, scenarios: ['process'] },
)

/** The defaults with OpenTelemetry tracing on (see `conveyor-redis-traced`), for the tracing on ÷ off ratio. */
export const conveyorRabbitMQTraced: BenchSystem = conveyorRabbitMQSystem(
  'conveyor-rabbitmq-traced',
  'conveyor-rabbitmq with tracing: openTelemetryTracing() on the OpenTelemetry SDK (every span recorded, no-op exporter)',
  {},
  { traced: true, scenarios: ['process'] },
)

/** The defaults with `confirmAcks: false`: acks resolve once written (no barrier round trip), like raw amqplib's. */
export const conveyorRabbitMQUnconfirmed: BenchSystem = conveyorRabbitMQSystem(
  'conveyor-rabbitmq-unconfirmed',
  'conveyor-rabbitmq with confirmAcks: false (an ack resolves once written, as in raw amqplib)',
  { confirmAcks: false },
  { scenarios: ['process'] },
)

/** Plain queues and `confirmAcks: false`: the fastest configuration, against raw amqplib on a plain queue. */
export const conveyorRabbitMQFifoUnconfirmed: BenchSystem = conveyorRabbitMQSystem(
  'conveyor-rabbitmq-fifo-unconfirmed',
  'conveyor-rabbitmq-fifo with confirmAcks: false',
  { priorityLevels: 1, confirmAcks: false },
  { scenarios: ['process'] },
)

function conveyorRabbitMQSystem(
  id: string,
  description: string,
  options: { priorityLevels?: number; confirmAcks?: boolean },
  {
    events = false,
    traced = false,
    scenarios,
  }: { events?: boolean; traced?: boolean; scenarios?: readonly string[] } = {},
): BenchSystem {
  return {
    id,
    broker: 'rabbitmq',
    family: 'conveyor',
    description,
    ...(scenarios ? { scenarios } : {}),
    async create(env, attachTo) {
      const { catalogName, createRabbitMQBroker, queueNames, DEFAULT_DELAY_LEVELS, eventStreamQueue } = await import(
        '@conveyor/rabbitmq'
      ).catch((error: unknown) => {
        throw new UnavailableError(`@conveyor/rabbitmq does not load: ${(error as Error).message}`)
      })
      const ns = attachTo ?? namespace('conveyor')
      const broker = createRabbitMQBroker({
        url: env.amqpUrl,
        prefix: ns,
        connectionName: ns,
        logger: false,
        ...options,
      })
      const names = queueNames(ns, 'q', DEFAULT_DELAY_LEVELS)
      const queues = [names.work, names.dead, ...names.delays.map((d) => d.name), catalogName(ns)]
      if (events) queues.push(eventStreamQueue(ns))
      if (!traced) return conveyorInstance(broker, ns, () => deleteQueues(env.amqpUrl, queues), events)
      const { benchTracing } = await import('./tracing')
      const tracing = benchTracing()
      const cleanup = () => tracing.stop().then(() => deleteQueues(env.amqpUrl, queues))
      return conveyorInstance(broker, ns, cleanup, events, { tracing: tracing.tracing })
    },
  }
}
