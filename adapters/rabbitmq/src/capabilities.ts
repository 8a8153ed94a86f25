import type { BrokerCapabilities } from '@conveyor/core/adapter'
import type { ResolvedOptions } from './options'

/** What the RabbitMQ broker supports with these options, as the core and the conformance suite read it. */
export function rabbitMQCapabilities(options: ResolvedOptions): BrokerCapabilities {
  const quorum = options.queueType === 'quorum'
  return Object.freeze({
    delayedDelivery: 'emulated',
    // Quorum queues in RabbitMQ 3.x ignore message priority.
    priorityLevels: quorum ? 1 : options.priorityLevels,
    deadLetter: 'emulated',
    deadLetterManagement: true,
    // RabbitMQ has no leases: a delivery stays held as long as its channel lives, however long the handler runs — up
    // to the server's consumer_timeout, which closes the channel and requeues (docs/clusters.md).
    leaseExtension: true,
    deliveryCount: true,
    persistence: true,
    clusterMode: quorum,
    maxMessageBytes: options.maxMessageBytes,
    // TTL levels never longer than the remaining delay, then held in the consumer for the last sub-level remainder:
    // late by the hops' round trips (measured 2–45 ms on classic, up to ~260 ms on quorum under heavy load).
    delayLateness: { fixedMs: 500, ratio: 0.02 },
    ...(options.maxDeliveries === undefined ? {} : { deliveryLimit: options.maxDeliveries }),
  })
}
