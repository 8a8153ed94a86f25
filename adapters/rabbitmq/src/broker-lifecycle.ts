import { type Broker, type CloseOptions, sleep } from '@conveyor/core/adapter'
import type { BrokerState } from './broker-state'

/** The broker's lifecycle: connect, a graceful close that gives back what is held, and destroy. */
export function lifecycle(state: BrokerState): Pick<Broker, 'connect' | 'close' | 'destroy'> {
  const { connection, consumers, publisher } = state
  return {
    async connect() {
      state.ensureOpen()
      await connection.open()
    },
    async close(closeOptions: CloseOptions = {}) {
      if (state.status !== 'open') return
      state.status = 'closing'
      await Promise.allSettled([...consumers].map((consumer) => consumer.cancel()))
      const deadline = Date.now() + (closeOptions.timeoutMs ?? 0)
      const held = () => [...consumers].flatMap((consumer) => [...consumer.unsettled])
      while (held().length > 0 && Date.now() < deadline) await sleep(10)
      // Give back what is still held without counting a delivery; if that fails the channel close requeues it.
      await Promise.allSettled(held().map((delivery) => delivery.release()))
      await Promise.allSettled([...consumers].map((consumer) => consumer.shutdown()))
      consumers.clear()
      await publisher.close()
      state.status = 'closed'
      await connection.close()
    },
    async destroy() {
      if (state.status === 'destroyed') return
      state.status = 'destroyed'
      for (const consumer of consumers) consumer.abandon()
      consumers.clear()
      connection.destroy()
    },
  }
}
