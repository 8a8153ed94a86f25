import { defineMutant } from './mutant'
import { withDelivery } from './wrap'

/**
 * Counts deliveries in the broker instance's memory instead of the store: a restarted (or another) instance starts
 * again from 1, so a message that kills every worker is never recognised as poison.
 */
export const losesDeliveryCount = defineMutant({
  name: 'loses-delivery-count-on-restart',
  bug: 'deliveryCount is kept per broker instance, not in the store',
  mustFail: ['crash.delivery-count-increments', 'crash.delivery-count-survives-restart', 'crash.poison-dead-lettered'],
  mutation: () => {
    const seen = new Map<string, number>()
    return {
      delivery: (d) => {
        const key = `${d.envelope.id}#${d.envelope.attempt}`
        const count = (seen.get(key) ?? 0) + 1
        seen.set(key, count)
        return withDelivery(d, { deliveryCount: count })
      },
    }
  },
})
