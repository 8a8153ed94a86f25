import { createMemoryBroker } from '@conveyor/core/adapter'
import { namespace } from '../util/names'
import { conveyorInstance } from './conveyor-app'
import type { BenchSystem } from './system'

/**
 * Conveyor on its in-process memory broker: no network, so this is the ceiling core's own worker loop allows (the
 * Redis and RabbitMQ rows can never beat it). A reference row, not a competitor.
 */
export const conveyorMemory: BenchSystem = {
  id: 'conveyor-memory',
  broker: 'memory',
  family: 'conveyor',
  description: 'Conveyor core on the memory broker (no I/O): the ceiling of core’s worker loop',
  async create() {
    return conveyorInstance(createMemoryBroker(), namespace('memory'), async () => undefined)
  },
}
