import { defineMutant } from './mutant'
import { withDelivery } from './wrap'

/** retry(delay) honours only a quarter of the delay: retries come back early. */
export const redeliversEarly = defineMutant({
  name: 'redelivers-early',
  bug: 'retry(delayMs) schedules the next attempt after delayMs / 4',
  mustFail: ['retry.never-early', 'retry.policy-backoff'],
  mutation: () => ({ delivery: (d) => withDelivery(d, { retry: (delayMs) => d.retry(Math.floor(delayMs / 4)) }) }),
})
