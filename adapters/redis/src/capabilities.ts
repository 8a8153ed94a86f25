import type { BrokerCapabilities } from '@conveyor/core/adapter'

/** What the Redis broker supports, as the core and the conformance suite read it. */
export function redisCapabilities(maxMessageBytes: number): BrokerCapabilities {
  return Object.freeze({
    delayedDelivery: 'native',
    priorityLevels: 10,
    deadLetter: 'emulated',
    deadLetterManagement: true,
    leaseExtension: true,
    deliveryCount: true,
    persistence: true,
    // Every script touches the keys of one queue only, all under one hash tag: tested on a 3-master cluster.
    clusterMode: true,
    maxMessageBytes,
    // Server-side due times (TIME), the consumer woken for the next due: late by a fetch or two (measured 5–100 ms,
    // up to ~350 ms on a machine loaded far beyond its cores); the bound leaves room for loaded CI machines.
    delayLateness: { fixedMs: 500, ratio: 0.02 },
  })
}
