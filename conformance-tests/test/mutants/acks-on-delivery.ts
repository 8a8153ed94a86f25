import { defineMutant } from './mutant'
import { withDelivery } from './wrap'

/**
 * Settles each message the moment it is handed out ("auto-ack"), before the handler finished: a crash or a close
 * while handlers run loses their messages. Later settlements are accepted and do nothing.
 */
export const acksOnDelivery = defineMutant({
  name: 'acks-on-delivery',
  bug: 'the message is acked on delivery, before the handler finishes',
  mustFail: ['crash.redelivered-after-destroy', 'lifecycle.close-returns-unsettled', 'lifecycle.close-loses-nothing'],
  mutation: () => ({
    delivery: (d) => {
      const acked = d.ack()
      const noop = () => acked
      return withDelivery(d, { ack: noop, retry: noop, deadLetter: noop, release: noop })
    },
  }),
})
