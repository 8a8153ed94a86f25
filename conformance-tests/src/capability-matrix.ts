import type { BrokerCapabilities } from '@conveyor/core/adapter'
import type { BrokerTestId } from './ids'

/** One row of the capability matrix: a flag, its value, and the tests the claim turns on. */
export interface CapabilityRow {
  readonly capability: keyof BrokerCapabilities
  readonly value: string
  /** Whether the value claims the capability (tests run) rather than disclaiming it (tests skipped). */
  readonly claimed: boolean
  /** Tests that run only when the capability is claimed. */
  readonly unlocks: readonly BrokerTestId[]
  /** What the flag means, for docs and the CLI. */
  readonly meaning: string
}

const delayIds: BrokerTestId[] = [
  'delay.never-early',
  'delay.within-window',
  'delay.ordered-by-due-time',
  'delay.not-blocking',
  'delay.counted-as-delayed',
  'delay.survives-restart',
  'retry.never-early',
  'retry.within-window',
  'retry.survives-restart',
  'retry.policy-backoff',
  'priority.kept-through-delay',
]

/** A row of the matrix before it reads an adapter's capabilities. */
interface RowSpec extends Omit<CapabilityRow, 'value' | 'claimed'> {
  /** The flag's value as shown, and whether it claims the capability. */
  readonly read: (c: BrokerCapabilities) => Pick<CapabilityRow, 'value' | 'claimed'>
}

const rows: readonly RowSpec[] = [
  {
    capability: 'delayedDelivery',
    read: (c) => ({ value: c.delayedDelivery, claimed: c.delayedDelivery !== 'none' }),
    unlocks: delayIds,
    meaning: 'the broker holds messages until notBefore (none: a delayed publish rejects, delay.unsupported-rejects)',
  },
  {
    capability: 'priorityLevels',
    read: (c) => ({ value: String(c.priorityLevels), claimed: c.priorityLevels > 1 }),
    unlocks: ['priority.higher-first', 'priority.kept-through-delay'],
    meaning: 'distinct priority levels honoured, higher first (1 = FIFO only)',
  },
  {
    capability: 'deadLetter',
    read: (c) => ({ value: c.deadLetter, claimed: true }),
    unlocks: [],
    meaning: 'native (broker-routed) or emulated (adapter-moved) dead letters; both are tested the same way',
  },
  {
    capability: 'deadLetterManagement',
    read: (c) => ({ value: String(c.deadLetterManagement), claimed: c.deadLetterManagement }),
    unlocks: [
      'dead-letter.survives-restart',
      'dead-letter.list-paging',
      'dead-letter.replay',
      'dead-letter.replay-renews-expiry',
      'dead-letter.replay-selection',
      'dead-letter.purge',
      'dead-letter.one-per-run',
      'dead-letter.same-id-runs',
      'bad-input.malformed-not-replayed',
    ],
    meaning: 'dead letters can be listed, replayed and purged through the adapter (or read through inspect)',
  },
  {
    capability: 'leaseExtension',
    read: (c) => ({ value: String(c.leaseExtension), claimed: c.leaseExtension }),
    unlocks: ['crash.held-while-alive', 'crash.long-task-runs-once'],
    meaning: 'a live consumer keeps its delivery past the lease; long tasks are never redelivered while alive',
  },
  {
    capability: 'deliveryCount',
    read: (c) => ({ value: String(c.deliveryCount), claimed: c.deliveryCount }),
    unlocks: [
      'ack.release-not-counted',
      'crash.delivery-count-increments',
      'crash.delivery-count-survives-restart',
      'crash.poison-dead-lettered',
      'paths.delivery-counts',
    ],
    meaning: 'the store counts deliveries across crashes, so poison messages are dead-lettered after maxDeliveries',
  },
  {
    capability: 'delayLateness',
    read: (c) => ({
      value: c.delayLateness ? `${c.delayLateness.fixedMs} ms + ${c.delayLateness.ratio} × delay` : 'undeclared',
      claimed: c.delayedDelivery !== 'none',
    }),
    unlocks: ['timing.delays-on-time', 'timing.retries-on-time'],
    meaning: 'how late a delayed message or retry may arrive (undeclared: one second flat); never early',
  },
  {
    capability: 'deliveryLimit',
    read: (c) => ({
      value: c.deliveryLimit === undefined ? 'none' : String(c.deliveryLimit),
      claimed: c.deliveryLimit !== undefined,
    }),
    unlocks: ['crash.delivery-limit'],
    meaning: 'the broker dead-letters a message delivered more than this many times, whatever its consumers do',
  },
  {
    capability: 'persistence',
    read: (c) => ({ value: String(c.persistence), claimed: c.persistence }),
    unlocks: [],
    meaning: 'messages survive a broker server restart (not exercised: the suite never restarts a shared server)',
  },
  {
    capability: 'clusterMode',
    read: (c) => ({ value: String(c.clusterMode), claimed: c.clusterMode }),
    unlocks: [],
    meaning: 'works against a clustered deployment (not exercised by the suite)',
  },
  {
    capability: 'maxMessageBytes',
    read: (c) => ({ value: String(c.maxMessageBytes), claimed: c.maxMessageBytes >= 1_000_200 }),
    unlocks: ['envelope.large-payload'],
    meaning: 'largest encoded message accepted; ≥ ~1 MB turns on the 1 MB round trip',
  },
]

/**
 * Which suite tests each capability flag unlocks, and whether `capabilities` claims it. The docs' matrix and the
 * CLI are generated from this, so they cannot drift from what the suite actually runs.
 */
export function capabilityMatrix(capabilities: BrokerCapabilities): CapabilityRow[] {
  return rows.map(({ capability, read, unlocks, meaning }) => {
    const { value, claimed } = read(capabilities)
    return { capability, value, claimed, unlocks, meaning }
  })
}
