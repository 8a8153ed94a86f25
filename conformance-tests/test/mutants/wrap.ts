import type { Broker } from '@conveyor/core'
import type { ConsumeOptions, DeadLetterStore, Delivery, Envelope } from '@conveyor/core/adapter'

/** Where a mutant bends the memory broker. Every hook is optional; the rest passes through unchanged. */
export interface Mutation {
  /** Replace each delivery before the handler sees it (`inner` is the unmutated broker). */
  delivery?(delivery: Delivery, inner: Broker): Delivery
  publish?(envelope: Envelope, inner: Broker): Promise<void>
  consumeOptions?(options: ConsumeOptions): ConsumeOptions
  close?(inner: Broker, options: { timeoutMs?: number } | undefined): Promise<void>
  deadLetters?(inner: Broker): DeadLetterStore
}

/** A broker that behaves like `inner` except where `mutation` says otherwise. */
export function mutate(inner: Broker, mutation: Mutation): Broker {
  return {
    name: `${inner.name}-mutant`,
    capabilities: inner.capabilities,
    deadLetters: mutation.deadLetters ? mutation.deadLetters(inner) : inner.deadLetters,
    connect: () => inner.connect(),
    close: (options) => (mutation.close ? mutation.close(inner, options) : inner.close(options)),
    destroy: () => inner.destroy(),
    declare: (spec) => inner.declare(spec),
    publish: (envelope) => (mutation.publish ? mutation.publish(envelope, inner) : inner.publish(envelope)),
    publishRaw: (queue, body) => inner.publishRaw(queue, body),
    consume: (queue, handler, options) =>
      inner.consume(
        queue,
        mutation.delivery ? (delivery) => handler(mutation.delivery!(delivery, inner)) : handler,
        mutation.consumeOptions ? mutation.consumeOptions(options) : options,
      ),
    purge: (queue) => inner.purge(queue),
    stats: (queue) => inner.stats(queue),
  }
}

/** A delivery like `delivery` with some members replaced (the envelope and count are getters on the original). */
export function withDelivery(delivery: Delivery, overrides: Partial<Delivery>): Delivery {
  return {
    get envelope() {
      return delivery.envelope
    },
    get deliveryCount() {
      return delivery.deliveryCount
    },
    ack: () => delivery.ack(),
    retry: (delayMs) => delivery.retry(delayMs),
    deadLetter: (reason, error) => delivery.deadLetter(reason, error),
    release: () => delivery.release(),
    ...overrides,
  }
}
