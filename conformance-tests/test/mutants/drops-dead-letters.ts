import { defineMutant } from './mutant'
import { withDelivery } from './wrap'

/** deadLetter() acks instead: the message leaves the live queue but never reaches the dead-letter store. */
export const dropsDeadLetters = defineMutant({
  name: 'drops-dead-letters',
  bug: 'deadLetter() removes the message without storing it',
  mustFail: ['dead-letter.holds-envelope', 'dead-letter.exhausted-retries', 'dead-letter.unrecoverable'],
  mutation: () => ({ delivery: (d) => withDelivery(d, { deadLetter: () => d.ack() }) }),
})
