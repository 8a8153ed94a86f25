import { runBrokerConformance } from '@conveyor/conformance'
import { DEFAULT_DELAY_LEVELS } from '@conveyor/rabbitmq'
import { conformanceHooks, TEST_DELAY_LEVELS } from './helpers'

runBrokerConformance({
  name: 'rabbitmq (classic)',
  ...conformanceHooks('classic'),
  delayBoundariesMs: TEST_DELAY_LEVELS,
  configurations: [
    {
      // What users run: the timing bound must hold with the default levels, not only with the tests' short ones.
      name: 'production delay levels',
      run: ['timing', 'delay.never-early', 'delay.ordered-by-due-time'],
      ...conformanceHooks('classic', { delayLevels: DEFAULT_DELAY_LEVELS }),
      delayBoundariesMs: DEFAULT_DELAY_LEVELS,
    },
    {
      // A small size limit, so a move's new copy can be refused (the test builds messages at the limit).
      name: 'small messages',
      run: ['paths.refused-move-keeps-message'],
      ...conformanceHooks('classic', { maxMessageBytes: 64 * 1024 }),
    },
    {
      // maxDeliveries: the adapter dead-letters before handing out the delivery past the limit.
      name: 'delivery limit 2',
      run: ['crash.delivery-limit', 'crash.redelivered-after-destroy'],
      ...conformanceHooks('classic', { maxDeliveries: 2 }),
    },
  ],
})
