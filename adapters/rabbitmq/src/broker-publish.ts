import type { Envelope } from '@conveyor/core/adapter'
import type { RabbitMQBroker } from './broker'
import type { BrokerState } from './broker-state'

/** The broker's publish methods, all through the sender (confirmed, mandatory, delays parked in TTL queues). */
export function publishing(state: BrokerState): Pick<RabbitMQBroker, 'publish' | 'publishMany' | 'publishRaw'> {
  const { sender } = state
  return {
    publish(envelope: Envelope) {
      // Not async: the publish hot path saves a promise per message. Sync failures still become rejections.
      try {
        state.ensureOpen()
        return sender.envelope(envelope)
      } catch (error) {
        return Promise.reject(error)
      }
    },
    async publishMany(envelopes: readonly Envelope[]) {
      state.ensureOpen()
      await sender.envelopes(envelopes)
    },
    async publishRaw(queue: string, body: string) {
      state.ensureOpen()
      await sender.body(queue, Buffer.from(body, 'utf8'), { priority: 0, carried: 0 })
    },
  }
}
