import { runBrokerConformance } from '@conveyor/conformance'
import { conformanceHooks, TEST_DELAY_LEVELS } from './helpers'

runBrokerConformance({
  name: 'rabbitmq (quorum)',
  ...conformanceHooks('quorum'),
  delayBoundariesMs: TEST_DELAY_LEVELS,
  configurations: [
    {
      // On quorum queues maxDeliveries is also x-delivery-limit: the server dead-letters natively.
      name: 'delivery limit 2',
      run: ['crash.delivery-limit', 'crash.redelivered-after-destroy'],
      ...conformanceHooks('quorum', { maxDeliveries: 2 }),
    },
  ],
})
