import { PayloadTooLargeError } from '@conveyor/core'
import { assertEnvelope, type Broker, type Envelope, utf8Length } from '@conveyor/core/adapter'
import type { BrokerState } from './broker-state'
import { encodeStored, storeRaw } from './codec'

/** The broker's publish methods: every message size-checked before anything is written, batched per queue. */
export function publishing(state: BrokerState): Pick<Broker, 'publish' | 'publishMany' | 'publishRaw'> {
  const { maxMessageBytes } = state.settings

  /** The stored element, after the size check every publish makes before anything is written. */
  const checkSize = (element: string): string => {
    const bytes = utf8Length(element)
    if (bytes > maxMessageBytes) {
      throw new PayloadTooLargeError(
        `[conveyor] [redis] message of ${bytes} bytes exceeds maxMessageBytes ${maxMessageBytes}`,
      )
    }
    return element
  }

  return {
    async publish(envelope: Envelope) {
      state.ensureOpen()
      assertEnvelope(envelope)
      const element = checkSize(encodeStored(envelope))
      await state.runtime(envelope.queue).publisher.add(element, envelope.priority, delayOf(envelope, Date.now()))
    },

    async publishMany(envelopes: readonly Envelope[]) {
      state.ensureOpen()
      // Everything is validated, encoded and size-checked first: a bad member rejects the batch with nothing written.
      const now = Date.now()
      const byQueue = new Map<string, (string | number)[]>()
      for (const envelope of envelopes) {
        assertEnvelope(envelope)
        const element = checkSize(encodeStored(envelope))
        state.runtime(envelope.queue)
        let args = byQueue.get(envelope.queue)
        if (args === undefined) {
          args = []
          byQueue.set(envelope.queue, args)
        }
        args.push(envelope.priority, delayOf(envelope, now), element)
      }
      await Promise.all([...byQueue].map(([queue, args]) => state.runtime(queue).publisher.addMany(args)))
    },

    async publishRaw(queue: string, body: string) {
      state.ensureOpen()
      await state.runtime(queue).publisher.add(checkSize(storeRaw(body)), 0, 0)
    },
  }
}

/** What is left of a delay on this process's clock; Redis adds it to its own (publish-batch.lua). */
function delayOf(envelope: Envelope, now: number): number {
  return envelope.notBefore !== undefined && envelope.notBefore > now ? envelope.notBefore - now : 0
}
