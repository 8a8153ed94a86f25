import { acksOnDelivery } from './acks-on-delivery'
import { dropsDeadLetters } from './drops-dead-letters'
import { duplicatesPublish } from './duplicates-publish'
import { ignoresDelay } from './ignores-delay'
import { ignoresPrefetch } from './ignores-prefetch'
import { ignoresPriority } from './ignores-priority'
import { losesDeliveryCount } from './loses-delivery-count'
import { losesMessagesOnClose } from './loses-messages-on-close'
import type { Mutant } from './mutant'
import { redeliversEarly } from './redelivers-early'
import { replayKeepsAttempt } from './replay-keeps-attempt'
import { retryKeepsOriginal } from './retry-keeps-original'

export type { Mutant } from './mutant'

/** Every mutant the suite must reject. */
export const mutants: readonly Mutant[] = [
  dropsDeadLetters,
  redeliversEarly,
  losesDeliveryCount,
  acksOnDelivery,
  ignoresPriority,
  losesMessagesOnClose,
  ignoresPrefetch,
  duplicatesPublish,
  replayKeepsAttempt,
  ignoresDelay,
  retryKeepsOriginal,
]
