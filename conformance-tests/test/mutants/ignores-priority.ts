import { encodeEnvelope } from '@conveyor/core/adapter'
import { defineMutant } from './mutant'

/** Stores every ready message at priority 0 (the envelope still says otherwise): plain FIFO. */
export const ignoresPriority = defineMutant({
  name: 'ignores-priority',
  bug: 'publish ignores the envelope priority (FIFO) while claiming 10 levels',
  mustFail: ['priority.higher-first'],
  mutation: () => ({
    publish: (envelope, inner) =>
      envelope.notBefore !== undefined && envelope.notBefore > Date.now()
        ? inner.publish(envelope)
        : inner.publishRaw(envelope.queue, encodeEnvelope(envelope)),
  }),
})
