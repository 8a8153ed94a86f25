import type { Delivery } from '@conveyor/core/adapter'
import { defineMutant } from './mutant'
import { withDelivery } from './wrap'

/** close() drops the deliveries still unsettled (acks them away) instead of giving them back to the queue. */
export const losesMessagesOnClose = defineMutant({
  name: 'loses-messages-on-close',
  bug: 'close() discards in-flight deliveries instead of releasing them',
  mustFail: ['lifecycle.close-returns-unsettled', 'lifecycle.close-loses-nothing'],
  mutation: () => {
    const unsettled = new Set<Delivery>()
    const settling = (d: Delivery, action: () => Promise<void>) => async (): Promise<void> => {
      unsettled.delete(d)
      await action()
    }
    return {
      delivery: (d) => {
        unsettled.add(d)
        return withDelivery(d, {
          ack: settling(d, () => d.ack()),
          release: settling(d, () => d.release()),
          retry: (delayMs) => settling(d, () => d.retry(delayMs))(),
          deadLetter: (reason, error) => settling(d, () => d.deadLetter(reason, error))(),
        })
      },
      close: async (inner) => {
        await Promise.allSettled([...unsettled].map((d) => d.ack()))
        unsettled.clear()
        await inner.close({ timeoutMs: 0 })
      },
    }
  },
})
