import { defineMutant } from './mutant'

/** publish treats every notBefore as due now (a delay structure that is never consulted). */
export const ignoresDelay = defineMutant({
  name: 'ignores-delay',
  bug: 'delayed messages are delivered at once',
  mustFail: ['delay.never-early', 'delay.ordered-by-due-time', 'delay.counted-as-delayed'],
  mutation: () => ({
    publish: (envelope, inner) =>
      inner.publish(envelope.notBefore === undefined ? envelope : { ...envelope, notBefore: Date.now() - 1 }),
  }),
})
