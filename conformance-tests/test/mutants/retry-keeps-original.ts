import { defineMutant } from './mutant'
import { withDelivery } from './wrap'

/** retry() publishes the next attempt but never settles the current one: the old attempt stays held for ever. */
export const retryKeepsOriginal = defineMutant({
  name: 'retry-keeps-original',
  bug: 'retry publishes attempt + 1 without removing the current delivery',
  mustFail: ['retry.attempt-incremented'],
  mutation: () => ({
    delivery: (d, inner) =>
      withDelivery(d, {
        retry: (delayMs) =>
          inner.publish({ ...d.envelope, attempt: d.envelope.attempt + 1, notBefore: Date.now() + delayMs }),
      }),
  }),
})
