import { runBrokerConformance } from '@conveyor/conformance'
import { conformanceHooks, TEST_DELAY_LEVELS } from './helpers'

/** What `confirmAcks: false` gives up, by design: an ack that resolved may still be lost with a crash right after. */
const TRADED =
  'confirmAcks: false — a success ack resolves once written, so a crash right after it may still redeliver (docs/adapters/rabbitmq.md, Ack confirmation)'

// Acks resolve once written (no barrier round trip): every other guarantee of the suite must still hold. Skipped are
// only the tests that ack, crash at once and require the acked messages gone.
runBrokerConformance({
  name: 'rabbitmq (classic, confirmAcks false)',
  ...conformanceHooks('classic', { confirmAcks: false }),
  delayBoundariesMs: TEST_DELAY_LEVELS,
  skip: {
    'ack.out-of-order': TRADED,
    'crash.held-while-alive': TRADED,
    'settle.settlements-held': TRADED,
  },
})
