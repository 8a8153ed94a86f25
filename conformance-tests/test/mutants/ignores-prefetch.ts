import { defineMutant } from './mutant'

/** Hands out twice the prefetch asked for. */
export const ignoresPrefetch = defineMutant({
  name: 'ignores-prefetch',
  bug: 'a subscription holds up to 2 × prefetch unsettled deliveries',
  mustFail: ['concurrency.prefetch-respected', 'concurrency.prefetch-refills'],
  mutation: () => ({ consumeOptions: (options) => ({ ...options, prefetch: options.prefetch * 2 }) }),
})
