import { type Broker, type CloseOptions, sleep } from '@conveyor/core/adapter'
import type { BrokerState } from './broker-state'
import { closeClient, ensureConnected } from './connection'

/** The broker's lifecycle: connect, a graceful close that gives back what is held, and destroy. */
export function lifecycle(state: BrokerState): Pick<Broker, 'connect' | 'close' | 'destroy'> {
  const { client, consumers, runtimes, leases } = state
  return {
    async connect() {
      state.ensureOpen()
      await ensureConnected(client)
    },

    async close(closeOptions: CloseOptions = {}) {
      if (state.status !== 'open') return
      state.status = 'closing'
      await Promise.all([...consumers].map((consumer) => consumer.cancel()))
      consumers.clear()
      const deadline = Date.now() + (closeOptions.timeoutMs ?? 0)
      const holding = () => [...runtimes.values()].some((rt) => rt.held.size > 0)
      while (holding() && Date.now() < deadline) await sleep(10)
      try {
        for (const rt of runtimes.values()) {
          await rt.releaseAll()
          await rt.drainAcks()
        }
      } finally {
        leases.stop()
        state.status = 'closed'
        if (state.owned) await closeClient(client)
        client.off('error', state.onError)
        const confirm = state.confirmClient()
        if (confirm !== undefined) await closeClient(confirm)
      }
    },

    async destroy() {
      if (state.status === 'destroyed') return
      state.status = 'destroyed'
      leases.stop()
      for (const consumer of consumers) consumer.kill()
      consumers.clear()
      for (const rt of runtimes.values()) rt.abandonAcks()
      if (state.owned) client.disconnect()
      client.off('error', state.onError)
      state.confirmClient()?.disconnect()
    },
  }
}
