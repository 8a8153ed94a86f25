/**
 * Every test of the suite has a stable id, `<area>.<name>`. Ids never change meaning between releases: adapters put
 * them in `skip`, reports and docs quote them. The per-area tables are typed by these lists, so a test cannot exist
 * without an id here, nor an id without its test.
 */
export const brokerTestIdsByArea = {
  envelope: ['envelope.round-trip', 'envelope.unicode', 'envelope.nested-json', 'envelope.large-payload'],
  ack: [
    'ack.removes',
    'ack.out-of-order',
    'ack.settle-twice-rejects',
    'ack.release-redelivers',
    'ack.release-not-counted',
  ],
  retry: [
    'retry.attempt-incremented',
    'retry.never-early',
    'retry.within-window',
    'retry.survives-restart',
    'retry.policy-attempts',
    'retry.policy-backoff',
  ],
  deadLetter: [
    'dead-letter.holds-envelope',
    'dead-letter.oldest-first',
    'dead-letter.survives-restart',
    'dead-letter.list-paging',
    'dead-letter.replay',
    'dead-letter.replay-renews-expiry',
    'dead-letter.replay-selection',
    'dead-letter.purge',
    'dead-letter.one-per-run',
    'dead-letter.same-id-runs',
    'dead-letter.exhausted-retries',
    'dead-letter.unrecoverable',
  ],
  delay: [
    'delay.never-early',
    'delay.within-window',
    'delay.ordered-by-due-time',
    'delay.not-blocking',
    'delay.counted-as-delayed',
    'delay.survives-restart',
    'delay.past-is-immediate',
    'delay.unsupported-rejects',
  ],
  priority: ['priority.higher-first', 'priority.fifo-within-level', 'priority.kept-through-delay'],
  crash: [
    'crash.redelivered-after-destroy',
    'crash.delivery-count-increments',
    'crash.delivery-count-survives-restart',
    'crash.held-while-alive',
    'crash.settle-after-destroy-rejects',
    'crash.poison-dead-lettered',
    'crash.delivery-limit',
    'crash.long-task-runs-once',
  ],
  concurrency: [
    'concurrency.all-processed',
    'concurrency.no-double-hold',
    'concurrency.prefetch-respected',
    'concurrency.prefetch-refills',
    'concurrency.prefetch-from-first',
  ],
  lifecycle: [
    'lifecycle.close-waits-for-inflight',
    'lifecycle.close-returns-unsettled',
    'lifecycle.close-loses-nothing',
    'lifecycle.publish-after-close-rejects',
    'lifecycle.consume-after-close-rejects',
    'lifecycle.close-idempotent',
    'lifecycle.cancel-stops-deliveries',
    'lifecycle.declare-idempotent',
    'lifecycle.purge',
    'lifecycle.stats',
    'lifecycle.stats-per-queue',
    'lifecycle.stats-oldest-ready',
  ],
  badInput: [
    'bad-input.malformed-dead-lettered',
    'bad-input.not-an-envelope',
    'bad-input.consumer-keeps-running',
    'bad-input.malformed-not-replayed',
    'bad-input.no-prototype-pollution',
    'bad-input.unknown-task',
    'bad-input.poison-frees-slots',
  ],
  settle: ['settle.publish-held', 'settle.settlements-held'],
  paths: [
    'paths.delivery-counts',
    'paths.priority-after-moves',
    'paths.interrupted-moves',
    'paths.refused-move-keeps-message',
  ],
  batch: ['batch.publish-many-keeps-semantics'],
  timing: ['timing.delays-on-time', 'timing.retries-on-time'],
} as const

export const resultBackendTestIds = [
  'results.set-get',
  'results.get-missing',
  'results.transitions',
  'results.delete',
  'results.wait-resolves-on-completion',
  'results.wait-already-terminal',
  'results.wait-ignores-non-terminal',
  'results.wait-timeout',
  'results.wait-abort',
  'results.concurrent-waiters',
  'results.cross-instance-wait',
  'results.expiry',
  'results.set-just-before-wait',
  'results.many-waiters-one-connection',
  'results.closing-one-waiter',
  'results.expiry-after-replace',
  'results.workflow-capability',
  'results.workflow-plan',
  'results.workflow-count-once',
  'results.workflow-failure-policy',
  'results.workflow-last-two-race',
  'results.workflow-many-members',
  'results.workflow-admit',
] as const

export type BrokerArea = keyof typeof brokerTestIdsByArea
export type EnvelopeTestId = (typeof brokerTestIdsByArea.envelope)[number]
export type AckTestId = (typeof brokerTestIdsByArea.ack)[number]
export type RetryTestId = (typeof brokerTestIdsByArea.retry)[number]
export type DeadLetterTestId = (typeof brokerTestIdsByArea.deadLetter)[number]
export type DelayTestId = (typeof brokerTestIdsByArea.delay)[number]
export type PriorityTestId = (typeof brokerTestIdsByArea.priority)[number]
export type CrashTestId = (typeof brokerTestIdsByArea.crash)[number]
export type ConcurrencyTestId = (typeof brokerTestIdsByArea.concurrency)[number]
export type LifecycleTestId = (typeof brokerTestIdsByArea.lifecycle)[number]
export type BadInputTestId = (typeof brokerTestIdsByArea.badInput)[number]
export type SettleTestId = (typeof brokerTestIdsByArea.settle)[number]
export type PathsTestId = (typeof brokerTestIdsByArea.paths)[number]
export type BatchTestId = (typeof brokerTestIdsByArea.batch)[number]
export type TimingTestId = (typeof brokerTestIdsByArea.timing)[number]

/** Every broker test id; `runBrokerConformance`'s `skip` is keyed by these. */
export type BrokerTestId = (typeof brokerTestIdsByArea)[BrokerArea][number]
/** Every result backend test id; `runResultBackendConformance`'s `skip` is keyed by these. */
export type ResultBackendTestId = (typeof resultBackendTestIds)[number]
export type ConformanceTestId = BrokerTestId | ResultBackendTestId

/** Broker test ids in suite order. */
export const brokerTestIds: readonly BrokerTestId[] = Object.values(brokerTestIdsByArea).flat()

/** Every test id of the suite (broker, then result backend), in the order the suite runs them. */
export const conformanceTestIds: readonly ConformanceTestId[] = [...brokerTestIds, ...resultBackendTestIds]
