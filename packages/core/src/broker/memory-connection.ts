import type { DeliveryHandler } from '../contracts/delivery'
import { utf8Length } from '../envelope/codec'
import { DeliverySettledError } from '../errors/delivery-settled-error'
import { NotConnectedError } from '../errors/not-connected-error'
import { PayloadTooLargeError } from '../errors/payload-too-large-error'
import { sleep } from '../util/sleep'
import { deliverTo } from './memory-delivery'
import type { InFlight, MemoryStore, StoreConsumer } from './memory-store'

/**
 * One memory broker instance's hold on its store: an owner of leases that it keeps fresh while open, its consumers,
 * and whether it is open, closed or destroyed. What the broker's methods, its deliveries and its dead-letter store
 * share.
 */
export class MemoryConnection {
  state: 'open' | 'closed' | 'destroyed' = 'open'
  readonly owner: number
  private readonly subscriptions = new Set<{ queue: string; consumer: StoreConsumer }>()
  private keepAlive: NodeJS.Timeout | undefined

  constructor(
    readonly store: MemoryStore,
    readonly leaseMs: number,
    readonly maxMessageBytes: number,
  ) {
    this.owner = store.newOwner()
  }

  ensureOpen(): void {
    if (this.state !== 'open') throw new NotConnectedError(`[memory] broker is ${this.state}; create a new one`)
  }

  publishBody(queue: string, body: string, priority: number, notBefore?: number): void {
    this.ensureOpen()
    if (utf8Length(body) > this.maxMessageBytes) {
      throw new PayloadTooLargeError(`[memory] message of ${utf8Length(body)} bytes exceeds ${this.maxMessageBytes}`)
    }
    this.store.enqueue(queue, { body, priority, deliveryCount: 0 }, notBefore)
  }

  /** Takes a delivery from its consumer (ack, retry, dead letter); throws when it is gone. */
  settle(inflight: InFlight): void {
    this.ensureNotDestroyed()
    if (this.store.takeInFlight(inflight.queue, inflight.token) === undefined) throw settledError()
  }

  /** Puts a delivery back on its queue unsettled; throws when it is gone. */
  giveBack(inflight: InFlight): void {
    this.ensureNotDestroyed()
    if (!this.store.release(inflight)) throw settledError()
  }

  subscribe(queue: string, handler: DeliveryHandler, prefetch: number): () => void {
    const consumer: StoreConsumer = { owner: this.owner, prefetch, unsettled: 0, deliver: deliverTo(this, handler) }
    const entry = { queue, consumer }
    this.subscriptions.add(entry)
    this.startKeepAlive()
    this.store.addConsumer(queue, consumer)
    return () => {
      this.store.removeConsumer(queue, consumer)
      this.subscriptions.delete(entry)
    }
  }

  /** Stops consuming, waits up to `timeoutMs` for held deliveries to settle, gives the rest back. */
  async close(timeoutMs: number): Promise<void> {
    if (this.state !== 'open') return
    this.removeConsumers()
    const deadline = Date.now() + timeoutMs
    while (this.store.heldBy(this.owner).length > 0 && Date.now() < deadline) await sleep(10)
    for (const inflight of this.store.heldBy(this.owner)) this.store.release(inflight)
    this.state = 'closed'
    this.stopKeepAlive()
  }

  /** Stops at once, as a crash would: held deliveries go back only when their leases expire. */
  destroy(): void {
    if (this.state === 'destroyed') return
    this.state = 'destroyed'
    this.removeConsumers()
    this.stopKeepAlive()
  }

  private ensureNotDestroyed(): void {
    if (this.state === 'destroyed') {
      throw new NotConnectedError('[memory] broker was destroyed; the delivery is lost to it')
    }
  }

  private removeConsumers(): void {
    for (const { queue, consumer } of this.subscriptions) this.store.removeConsumer(queue, consumer)
    this.subscriptions.clear()
  }

  // A live owner keeps its leases fresh; a destroyed one stops, and the store reclaims them after leaseMs.
  private startKeepAlive(): void {
    if (this.keepAlive !== undefined) return
    const every = Math.max(10, Math.floor(this.leaseMs / 3))
    this.keepAlive = setInterval(() => this.store.extendLeases(this.owner, this.leaseMs), every)
    // Leases matter only while the process has other work: this timer alone must not keep it running.
    this.keepAlive.unref()
  }

  private stopKeepAlive(): void {
    if (this.keepAlive !== undefined) clearInterval(this.keepAlive)
    this.keepAlive = undefined
  }
}

function settledError(): DeliverySettledError {
  return new DeliverySettledError('[memory] delivery was already settled, released, or its lease expired')
}
