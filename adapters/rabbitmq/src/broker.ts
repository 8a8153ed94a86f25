import type { Broker, Envelope } from '@conveyor/core/adapter'
import { consuming } from './broker-consume'
import { lifecycle } from './broker-lifecycle'
import { publishing } from './broker-publish'
import { queueAdmin } from './broker-queues'
import { createBrokerState } from './broker-state'
import { rabbitMQCapabilities } from './capabilities'
import { createDeadLetterStore } from './dead-letters'
import { rabbitMQEventStream } from './event-stream'
import type { RabbitMQBrokerOptions } from './options'
import { withKillHook } from './test-hooks'
import type { Topology } from './topology'

/** The RabbitMQ broker: what `createRabbitMQBroker` returns. */
export interface RabbitMQBroker extends Broker {
  /** Queue names on the server for a logical queue (`work`, `dead`, `delays`). */
  queueNames(queue: string): ReturnType<Topology['names']>
  /**
   * Publish several envelopes (any queues) pipelined on the confirm channel: resolves once every one is confirmed;
   * on rejection some may have been published (retrying gives at-least-once, as with `publish`).
   */
  publishMany(envelopes: readonly Envelope[]): Promise<void>
  /** Logical queues this instance declared or used, for cleanup. */
  knownQueues(): string[]
}

/**
 * A broker on RabbitMQ through amqplib: publisher confirms, mandatory publishing, classic (with priorities) or quorum
 * queues, delays and retry backoff through per-queue TTL delay queues, dead letters in `<queue>.dead`, delivery
 * counts that survive crashes, and recovery from lost connections and channels.
 *
 * The parts share one state (broker-state.ts: options, connection, topology, publisher, consumers); each file holds
 * one group of the `Broker` methods.
 */
export function createRabbitMQBroker(input: RabbitMQBrokerOptions): RabbitMQBroker {
  const state = createBrokerState(input)
  const { options, connection, topology, sender } = state
  const broker: RabbitMQBroker = {
    name: 'rabbitmq',
    capabilities: rabbitMQCapabilities(options),
    deadLetters: createDeadLetterStore({ connection, topology, sender, options }),
    // On the broker's connection (channels of its own); closing the stream leaves the connection to the broker.
    eventStream: (streamOptions) =>
      rabbitMQEventStream({
        connection,
        owned: false,
        prefix: options.prefix,
        retention: streamOptions?.retention ?? {},
        logger: options.logger,
      }),
    // connect, close, destroy
    ...lifecycle(state),
    // declare, listQueues, purge, stats
    ...queueAdmin(state),
    // publish, publishMany, publishRaw
    ...publishing(state),
    // consume (settling is the delivery's: delivery.ts and acks.ts)
    ...consuming(state),
    queueNames: (queue) => topology.names(queue),
    knownQueues: () => topology.queues(),
  }
  return withKillHook(broker, () => connection.killSocket())
}
