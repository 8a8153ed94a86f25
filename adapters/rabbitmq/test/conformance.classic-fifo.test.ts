import { runBrokerConformance } from '@conveyor/conformance'
import { conformanceHooks, TEST_DELAY_LEVELS } from './helpers'

// Plain classic queues (priorityLevels: 1, no x-max-priority): the fast configuration must keep every other guarantee.
runBrokerConformance({
  name: 'rabbitmq (classic, priorityLevels 1)',
  ...conformanceHooks('classic', { priorityLevels: 1 }),
  delayBoundariesMs: TEST_DELAY_LEVELS,
})
