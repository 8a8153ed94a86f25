import type { DeadLetterReason, ErrorInfo } from '../contracts/dead-letter'
import type { Delivery, DeliveryHandler } from '../contracts/delivery'
import type { Envelope } from '../contracts/envelope'
import { decodeEnvelope, encodeEnvelope } from '../envelope/codec'
import { toErrorInfo } from '../envelope/error-info'
import { newTaskId } from '../util/ids'
import type { MemoryConnection } from './memory-connection'
import type { InFlight } from './memory-store'

/** Longest raw body kept for a malformed dead letter. */
const MAX_RAW_KEPT = 64 * 1024

/**
 * What a consumer of the memory store does with each message: lease it, decode it (a malformed body goes straight to
 * the dead letters) and hand the handler a delivery.
 */
export function deliverTo(connection: MemoryConnection, handler: DeliveryHandler): (inflight: InFlight) => void {
  const { store } = connection
  return (inflight) => {
    store.setLease(inflight, connection.leaseMs)
    let envelope: Envelope
    try {
      envelope = decodeEnvelope(inflight.message.body)
      if (envelope.queue !== inflight.queue) envelope = { ...envelope, queue: inflight.queue }
    } catch (error) {
      store.takeInFlight(inflight.queue, inflight.token)
      store.deadLetter(inflight.queue, {
        id: newTaskId(),
        queue: inflight.queue,
        raw: inflight.message.body.slice(0, MAX_RAW_KEPT),
        reason: 'malformed',
        error: toErrorInfo(error),
        attempts: 0,
        deliveryCount: inflight.message.deliveryCount,
        createdAt: Date.now(),
        deadAt: Date.now(),
      })
      return
    }
    try {
      handler(memoryDelivery(connection, inflight, envelope))
    } catch {
      // A throwing handler must not break dispatch; the delivery stays held until settled or reclaimed.
    }
  }
}

function memoryDelivery(connection: MemoryConnection, inflight: InFlight, envelope: Envelope): Delivery {
  const { store } = connection
  return {
    envelope,
    deliveryCount: inflight.message.deliveryCount,
    async ack() {
      connection.settle(inflight)
    },
    async retry(delayMs: number) {
      connection.settle(inflight)
      const next: Envelope = {
        ...envelope,
        attempt: envelope.attempt + 1,
        notBefore: Date.now() + Math.max(0, delayMs),
      }
      store.enqueue(
        inflight.queue,
        { body: encodeEnvelope(next), priority: envelope.priority, deliveryCount: 0 },
        next.notBefore,
      )
    },
    async deadLetter(reason: DeadLetterReason, error?: ErrorInfo) {
      connection.settle(inflight)
      store.deadLetter(inflight.queue, {
        id: envelope.id,
        queue: inflight.queue,
        envelope,
        reason,
        ...(error ? { error } : {}),
        attempts: envelope.attempt,
        deliveryCount: inflight.message.deliveryCount,
        createdAt: envelope.createdAt,
        deadAt: Date.now(),
      })
    },
    async release() {
      connection.giveBack(inflight)
    },
  }
}
