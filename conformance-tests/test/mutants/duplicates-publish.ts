import { defineMutant } from './mutant'

/** Every publish is stored twice (a retried write that was not idempotent). */
export const duplicatesPublish = defineMutant({
  name: 'duplicates-publish',
  bug: 'publish stores the message twice',
  mustFail: ['concurrency.all-processed', 'ack.removes'],
  mutation: () => ({
    publish: async (envelope, inner) => {
      await inner.publish(envelope)
      await inner.publish(envelope)
    },
  }),
})
