import type { CoordinationStore } from './coordination'
import {
  memoryHeartbeatsAndRevokes,
  memoryIdempotency,
  memoryLeases,
  memoryRates,
  memoryTicks,
} from './memory-coordination-parts'

export interface MemoryCoordinationOptions {
  /** The clock TTLs and windows use. Defaults to `Date.now`; tests inject their own. */
  readonly now?: () => number
}

/**
 * Coordination inside one process (`scope: 'process'`): rate limits, revokes, tick claims and idempotency keys hold
 * between the workers, schedulers and producers of this process only. Use a shared store (Redis) to coordinate
 * several processes.
 */
export function createMemoryCoordination(options: MemoryCoordinationOptions = {}): CoordinationStore {
  const now = options.now ?? Date.now
  return {
    name: 'memory',
    scope: 'process',
    async connect() {},
    async close() {},
    ...memoryHeartbeatsAndRevokes(now),
    ...memoryRates(now),
    ...memoryLeases(now),
    ...memoryTicks(now),
    ...memoryIdempotency(now),
  }
}
