import { NotConnectedError } from '@conveyor/core'
import { Connection, connectionSource } from './connection'
import type { Consumer, ConsumerContext } from './consumer'
import { type RabbitMQBrokerOptions, type ResolvedOptions, resolveOptions } from './options'
import { Publisher } from './publisher'
import { Sender } from './sender'
import { Topology } from './topology'

/**
 * What the parts of one broker (publish, consume, queues, lifecycle) share: the connection, the topology, the
 * publisher and the consumers it runs. `status` is the only field that changes after creation.
 */
export interface BrokerState {
  /** The options as given (the management client reads the vhost from `url`). */
  readonly input: RabbitMQBrokerOptions
  readonly options: ResolvedOptions
  readonly connection: Connection
  readonly topology: Topology
  readonly publisher: Publisher
  readonly sender: Sender
  readonly consumers: Set<Consumer>
  /** What consumers share with the broker. */
  readonly context: ConsumerContext
  status: 'open' | 'closing' | 'closed' | 'destroyed'
  /** Throws `NotConnectedError` unless the broker is open and its connection usable. */
  ensureOpen(): void
}

/** Resolve the options, set up the connection (not opened yet) and the parts that publish on it. */
export function createBrokerState(input: RabbitMQBrokerOptions): BrokerState {
  const options = resolveOptions(input)
  // The connection redeclares the topology after a reconnect; the topology needs the connection to exist first.
  let topology: Topology | undefined
  const connection = new Connection(connectionSource(input), {
    name: options.connectionName,
    part: 'broker',
    logger: options.logger,
    setup: async (model) => topology?.redeclare(model),
  })
  topology = new Topology(connection, options)
  const publisher = new Publisher(connection, options)
  const sender = new Sender(topology, publisher, options)

  const state: BrokerState = {
    input,
    options,
    connection,
    topology,
    publisher,
    sender,
    consumers: new Set(),
    context: {
      options,
      connection,
      topology,
      sender,
      assertAlive: () => {
        if (state.status === 'destroyed') {
          throw new NotConnectedError('[rabbitmq] broker was destroyed; create a new one')
        }
      },
      running: () => state.status === 'open' && connection.usable,
    },
    status: 'open',
    ensureOpen: () => {
      if (state.status !== 'open') throw new NotConnectedError(`[rabbitmq] broker is ${state.status}; create a new one`)
      connection.assertUsable()
    },
  }
  return state
}
