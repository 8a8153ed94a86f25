import { InvalidOptionsError } from '@conveyor/core'
import type { Broker, QueueSpec, QueueStats } from '@conveyor/core/adapter'
import type { BrokerState } from './broker-state'
import { storedReadyAt } from './codec'
import { queuesKey } from './keys'

/** The broker's queue administration: declare, list, purge and count. */
export function queueAdmin(state: BrokerState): Pick<Broker, 'declare' | 'listQueues' | 'purge' | 'stats'> {
  const { client, shared } = state
  const { prefix } = state.settings
  return {
    async declare(spec: QueueSpec) {
      state.ensureOpen()
      if (spec.arguments && Object.keys(spec.arguments).length > 0) {
        throw new InvalidOptionsError(
          `[redis] queue "${spec.name}" takes no arguments, got ${Object.keys(spec.arguments).join(', ')}`,
        )
      }
      state.runtime(spec.name)
      // Redis creates the queue's keys on first write; the set only lets admin tools list queues without SCAN.
      await client.sadd(queuesKey(prefix), spec.name)
    },

    async purge(queue: string) {
      state.ensureOpen()
      const k = state.keysOf(queue)
      return Number(await shared.run('purge', [...k.ready, k.delayed], []))
    },

    async listQueues() {
      state.ensureOpen()
      // Declared by any instance sharing the prefix; sorted so admin output is stable.
      return (await client.smembers(queuesKey(prefix))).sort()
    },

    async stats(queue: string): Promise<QueueStats> {
      state.ensureOpen()
      const k = state.keysOf(queue)
      const [ready, inFlight, delayed, dead, ...heads] = (await shared.run(
        'stats',
        [...k.ready, k.delayed, k.inflight, k.dead],
        [],
      )) as [number, number, number, number, ...(string | null)[]]
      // The oldest ready message is the earliest of the priority lists' heads (each list is FIFO).
      let oldestReadyAt: number | undefined
      for (const head of heads) {
        const at = typeof head === 'string' ? storedReadyAt(head) : undefined
        if (at !== undefined && (oldestReadyAt === undefined || at < oldestReadyAt)) oldestReadyAt = at
      }
      return { ready, inFlight, delayed, dead, ...(oldestReadyAt !== undefined ? { oldestReadyAt } : {}) }
    },
  }
}
