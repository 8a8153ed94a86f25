import { InvalidOptionsError, NotConnectedError } from '@conveyor/core'
import type { Broker, ConsumeOptions, DeliveryHandler, Subscription } from '@conveyor/core/adapter'
import type { BrokerState } from './broker-state'
import { Consumer } from './consumer'

/** The broker's `consume`: one consumer per call, its deliveries' leases kept alive by the broker's lease keeper. */
export function consuming(state: BrokerState): Pick<Broker, 'consume'> {
  return {
    async consume(queue: string, handler: DeliveryHandler, consumeOptions: ConsumeOptions): Promise<Subscription> {
      state.ensureOpen()
      if (state.status === 'closing') throw new NotConnectedError('[conveyor] [redis] broker is closing')
      const prefetch = consumeOptions.prefetch
      if (!(Number.isInteger(prefetch) && prefetch >= 1)) {
        throw new InvalidOptionsError(`[redis] prefetch must be an integer ≥ 1, got ${prefetch}`)
      }
      const { maxBatch, maxBlockMs } = state.settings
      const consumer = new Consumer(state.shared, state.runtime(queue), handler, { prefetch, maxBatch, maxBlockMs })
      state.consumers.add(consumer)
      state.leases.start()
      const subscription = consumer.start()
      return {
        queue,
        async cancel() {
          await subscription.cancel()
          state.consumers.delete(consumer)
        },
      }
    },
  }
}
