/**
 * The variants of `rabbitmq-bimodal.ts`: each changes one factor of the bench's raw-amqp-same drain (`raw`), or runs
 * Conveyor's fill or drain in its place.
 */
export interface Variant {
  readonly description: string
  /** Who fills: amqplib in pipelined batches of 1,000 (`raw`), amqplib one by one with 64 in flight (`raw-single`),
   * or a Conveyor app's `task.enqueueMany` by 1,000 (`app`, the bench's conveyor-rabbitmq). */
  readonly fill: 'raw' | 'raw-single' | 'app'
  /** Who drains: amqplib with one `basic.ack` per message (`raw`), amqplib with the acks settled in one tick
   * coalesced into one `multiple` ack (`raw-multiple`), the adapter alone (`broker.consume` + `delivery.ack()`),
   * or an app worker at concurrency = prefetch (`app`). */
  readonly consume: 'raw' | 'raw-multiple' | 'adapter' | 'app'
  /** x-max-priority (0: plain queue). Conveyor fills and consumers need 10 (the adapter's default) or 0. */
  readonly maxPriority: number
  /** The message's AMQP priority for raw fills (undefined: property not set). */
  readonly priority: number | undefined
  readonly persistent: boolean
  /** Pause between the fill's last confirm and the consumer's start. */
  readonly waitMs: number
  readonly prefetch: number
  /** raw consume: on a second connection instead of a channel of the filling one. */
  readonly ownConnection: boolean
  /** app / adapter consume: the adapter's acks as it writes them (`multiple` runs), or patched in this process to
   * one `basic.ack` per message (an experiment: `ChannelAcks.prototype.writeAcks` replaced, no adapter file edited). */
  readonly adapterAcks?: 'multiple' | 'single' | 'single-first'
}

const BASE: Variant = {
  description: 'raw-amqp-same: x-max-priority 10, priority 0, persistent, bulk fill, drain at once, single acks',
  fill: 'raw',
  consume: 'raw',
  maxPriority: 10,
  priority: 0,
  persistent: true,
  waitMs: 0,
  prefetch: 50,
  ownConnection: false,
}

export const VARIANTS: Record<string, Variant> = {
  raw: BASE,
  wait300: { ...BASE, description: 'raw, 300 ms between fill and drain', waitMs: 300 },
  wait800: { ...BASE, description: 'raw, 800 ms between fill and drain', waitMs: 800 },
  wait1500: { ...BASE, description: 'raw, 1.5 s between fill and drain', waitMs: 1500 },
  wait3s: { ...BASE, description: 'raw, 3 s between fill and drain (queue process idle: hibernation)', waitMs: 3000 },
  'multiple-acks': {
    ...BASE,
    description: 'raw, acks coalesced per tick into one `multiple` ack (as the adapter)',
    consume: 'raw-multiple',
  },
  'multiple-acks-wait3s': {
    ...BASE,
    description: 'raw, multiple acks, 3 s between fill and drain',
    consume: 'raw-multiple',
    waitMs: 3000,
  },
  'no-priority': { ...BASE, description: 'raw, messages without the priority property', priority: undefined },
  'priority-10': { ...BASE, description: 'raw, messages at priority 10 (the first sub-queue fetched)', priority: 10 },
  transient: { ...BASE, description: 'raw, transient messages (deliveryMode 1)', persistent: false },
  'transient-wait3s': {
    ...BASE,
    description: 'raw, transient messages, 3 s between fill and drain',
    persistent: false,
    waitMs: 3000,
  },
  'prefetch-100': { ...BASE, description: 'raw, prefetch 100', prefetch: 100 },
  'own-connection': { ...BASE, description: 'raw, consumer on a connection of its own', ownConnection: true },
  'single-fill': { ...BASE, description: 'raw, filled one by one (64 in flight)', fill: 'raw-single' },
  plain: { ...BASE, description: 'raw, plain queue (no x-max-priority)', maxPriority: 0, priority: undefined },
  'plain-wait3s': {
    ...BASE,
    description: 'raw, plain queue, 3 s between fill and drain',
    maxPriority: 0,
    priority: undefined,
    waitMs: 3000,
  },
  app: {
    ...BASE,
    description: 'Conveyor app fill (enqueueMany by 1,000) and app.worker drain (the bench)',
    fill: 'app',
    consume: 'app',
  },
  'app-wait3s': { ...BASE, description: 'app, 3 s between fill and drain', fill: 'app', consume: 'app', waitMs: 3000 },
  'app-fill': { ...BASE, description: 'Conveyor app fill, raw drain (single acks)', fill: 'app' },
  'app-fill-wait3s': { ...BASE, description: 'Conveyor app fill, raw drain, 3 s between', fill: 'app', waitMs: 3000 },
  'app-drain': { ...BASE, description: 'raw fill, Conveyor app.worker drain', consume: 'app' },
  'app-drain-wait3s': {
    ...BASE,
    description: 'raw fill, Conveyor app.worker drain, 3 s between',
    consume: 'app',
    waitMs: 3000,
  },
  'app-single-acks': {
    ...BASE,
    description: 'app, the adapter patched to ack one message per basic.ack',
    fill: 'app',
    consume: 'app',
    adapterAcks: 'single',
  },
  'app-single-acks-wait3s': {
    ...BASE,
    description: 'app, single acks (patched), 3 s between fill and drain',
    fill: 'app',
    consume: 'app',
    adapterAcks: 'single',
    waitMs: 3000,
  },
  'app-single-first': {
    ...BASE,
    description: 'app, single acks (patched) for the first 2,000 settlements, then multiple; no pause',
    fill: 'app',
    consume: 'app',
    adapterAcks: 'single-first',
  },
  'app-single-first-wait3s': {
    ...BASE,
    description:
      "app, single acks (patched) for the first 2,000 settlements of the channel, then the adapter's multiple acks; 3 s between",
    fill: 'app',
    consume: 'app',
    adapterAcks: 'single-first',
    waitMs: 3000,
  },
  'adapter-drain-wait3s': {
    ...BASE,
    description: 'raw fill, adapter drain (broker.consume, delivery.ack()), 3 s between',
    consume: 'adapter',
    waitMs: 3000,
  },
}
