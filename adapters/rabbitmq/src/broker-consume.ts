import { InvalidOptionsError } from '@conveyor/core'
import type { Broker, ConsumeOptions, DeliveryHandler, Subscription } from '@conveyor/core/adapter'
import type { BrokerState } from './broker-state'
import { Consumer } from './consumer'

/** The broker's `consume`: one consumer per call, on a channel of its own with a per-consumer prefetch. */
export function consuming(state: BrokerState): Pick<Broker, 'consume'> {
  const { consumers } = state
  return {
    async consume(queue: string, handler: DeliveryHandler, consumeOptions: ConsumeOptions): Promise<Subscription> {
      state.ensureOpen()
      const { prefetch } = consumeOptions
      if (!(Number.isInteger(prefetch) && prefetch >= 1 && prefetch <= 65_535)) {
        throw new InvalidOptionsError(`[rabbitmq] prefetch must be an integer 1–65535, got ${prefetch}`)
      }
      const consumer: Consumer = new Consumer(state.context, queue, handler, prefetch, () => consumers.delete(consumer))
      await consumer.start()
      consumers.add(consumer)
      return {
        queue,
        async cancel() {
          await consumer.cancel()
        },
      }
    },
  }
}
