import type { Broker } from '@conveyor/core/adapter'
import { consuming } from './broker-consume'
import { lifecycle } from './broker-lifecycle'
import { publishing } from './broker-publish'
import { queueAdmin } from './broker-queues'
import { createBrokerState } from './broker-state'
import { redisCapabilities } from './capabilities'
import { connectionOf } from './connection'
import { createDeadLetterStore } from './dead-letters'
import { createRedisEventStream } from './event-stream'
import type { RedisBrokerOptions } from './options'

/**
 * A broker on Redis: priority lists, a delayed zset promoted by the fetch script, leases in a zset extended while
 * handlers run and reclaimed by any live consumer when they expire, delivery counts kept with each message, and dead
 * letters per queue. Every multi-key step is one Lua script over the keys of one queue (one cluster slot).
 *
 * The parts share one state (broker-state.ts: options, client, queues, consumers, leases); each file holds one
 * group of the `Broker` methods.
 */
export function createRedisBroker(options: RedisBrokerOptions = {}): Broker {
  const state = createBrokerState(options)
  const { prefix, maxMessageBytes } = state.settings
  return {
    name: 'redis',
    capabilities: redisCapabilities(maxMessageBytes),
    deadLetters: createDeadLetterStore(state.shared, state.keysOf, state.ensureOpen),
    // Same server and prefix; the broker's connection when the user gave one, a connection of its own otherwise.
    eventStream: (streamOptions) =>
      createRedisEventStream({
        ...connectionOf(options),
        prefix,
        logger: false,
        ...(streamOptions?.retention !== undefined ? { retention: streamOptions.retention } : {}),
      }),
    // connect, close, destroy
    ...lifecycle(state),
    // declare, listQueues, purge, stats
    ...queueAdmin(state),
    // publish, publishMany, publishRaw
    ...publishing(state),
    // consume (settling is the delivery's: delivery.ts and runtime.ts)
    ...consuming(state),
  }
}
