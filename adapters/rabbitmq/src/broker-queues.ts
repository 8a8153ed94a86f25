import type { Broker, QueueSpec, QueueStats } from '@conveyor/core/adapter'
import type { BrokerState } from './broker-state'
import { ManagementClient } from './management'
import { nodeAddresses } from './nodes'
import type { Topology } from './topology'

/** The broker's queue administration: declare, list, purge and count. */
export function queueAdmin(state: BrokerState): Pick<Broker, 'declare' | 'listQueues' | 'purge' | 'stats'> {
  const { topology, consumers } = state
  const headReadyAt = headAges(state)

  const countsOf = (queue: string, names: ReturnType<Topology['names']>): Promise<QueueStats> => {
    return topology.withChannel(async (channel) => {
      const count = async (name: string) => (await channel.checkQueue(name)).messageCount
      const [ready, dead, ...delays] = await Promise.all([
        count(names.work),
        count(names.dead),
        ...names.delays.map((level) => count(level.name)),
      ])
      let inFlight = 0
      for (const consumer of consumers) if (consumer.queue === queue) inFlight += consumer.unsettled.size
      return { ready: ready!, inFlight, delayed: delays.reduce((sum, n) => sum + n, 0), dead: dead! }
    })
  }

  return {
    async declare(spec: QueueSpec) {
      state.ensureOpen()
      await topology.declare(spec)
    },
    /** Every logical queue declared under this prefix by any process (kept in the `<prefix>/queues` catalogue). */
    async listQueues() {
      state.ensureOpen()
      return topology.catalog.list()
    },
    async purge(queue: string) {
      state.ensureOpen()
      await topology.ensure(queue)
      const names = topology.names(queue)
      return topology.withChannel(async (channel) => {
        const counts = await Promise.all(
          [names.work, ...names.delays.map((level) => level.name)].map(
            async (name) => (await channel.purgeQueue(name)).messageCount,
          ),
        )
        return counts.reduce((sum, n) => sum + n, 0)
      })
    },
    async stats(queue: string) {
      state.ensureOpen()
      await topology.ensure(queue)
      const names = topology.names(queue)
      const head = headReadyAt(names.work)
      const counts = await countsOf(queue, names)
      const oldestReadyAt = counts.ready > 0 ? await head : undefined
      return oldestReadyAt === undefined ? counts : { ...counts, oldestReadyAt }
    },
  }
}

/**
 * The head's age from the management API, when `managementUrl` is set; a failure leaves it out (the counts still
 * stand) and is logged once per run of failures.
 */
function headAges(state: BrokerState): (name: string) => Promise<number | undefined> {
  const { options, input } = state
  const management =
    options.managementUrl === undefined
      ? undefined
      : // Every node of a cluster serves the same vhost: the first names it.
        new ManagementClient(
          options.managementUrl,
          input.url === undefined ? undefined : nodeAddresses(input.url)[0],
          options.publishTimeoutMs,
        )
  let managementFailing = false
  return async (name) => {
    if (management === undefined) return undefined
    try {
      const at = await management.headReadyAt(name)
      managementFailing = false
      return at
    } catch (error) {
      if (!managementFailing) {
        options.logger.warn({ err: error }, '[conveyor] [rabbitmq] could not read the oldest message age')
      }
      managementFailing = true
      return undefined
    }
  }
}
