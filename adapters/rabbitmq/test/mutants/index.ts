import type { SourceMutant } from '@conveyor/conformance'

// Realistic bugs planted in this adapter's own sources (applied to a copy by the mutant test, never shipped), each
// with the conformance tests that must catch it. docs/conformance-mutants.md lists them; a test keeps it in step.

export const rabbitmqMutants: readonly SourceMutant[] = [
  {
    name: 'rabbitmq/publish-resolves-before-confirm',
    bug: 'publish resolves once the message is written to the channel, before the publisher confirm',
    patches: [
      {
        file: 'src/publisher.ts',
        find: '      this.awaiting.add(waiter)\n      this.sweep()\n      if (!written) pc.full = true',
        replace:
          '      this.awaiting.add(waiter)\n      this.sweep()\n      resolve()\n      if (!written) pc.full = true',
      },
    ],
    mustFail: ['settle.publish-held'],
  },
  {
    name: 'rabbitmq/ack-resolves-before-server',
    bug: 'ack resolves when the ack is queued for the next write, without waiting for the server to process it',
    patches: [
      {
        file: 'src/acks.ts',
        find: 'this.pending.add(message.fields.deliveryTag)\n    return this.confirmed()',
        replace:
          'this.pending.add(message.fields.deliveryTag)\n    void this.confirmed().catch(() => {})\n    return Promise.resolve()',
      },
    ],
    mustFail: ['settle.settlements-held'],
  },
  {
    name: 'rabbitmq/delivery-proves-too-much',
    bug: 'a delivery is taken to prove as many settlements as its tag, forgetting the prefetch window it was sent in',
    patches: [
      {
        file: 'src/acks.ts',
        find: 'if (tag - this.prefetch > this.proven) this.prove(tag - this.prefetch)',
        replace: 'if (tag > this.proven) this.prove(tag)',
      },
    ],
    mustFail: ['settle.settlements-held'],
  },
  {
    name: 'rabbitmq/delay-level-too-long',
    bug: 'a delayed message is parked in the first delay level longer than its remaining delay, not the last shorter one',
    patches: [
      {
        file: 'src/names.ts',
        find: 'if (level.ms <= remainingMs) picked = level\n    else break',
        replace: 'picked = level\n    if (level.ms > remainingMs) break',
      },
    ],
    mustFail: ['timing.delays-on-time', 'timing.retries-on-time'],
  },
  {
    name: 'rabbitmq/release-counts-a-delivery',
    bug: 'release republishes the message carrying the delivery it just had, so the next one counts it',
    patches: [
      {
        file: 'src/delivery.ts',
        find: 'carried: this.deliveryCount - 1 }',
        replace: 'carried: this.deliveryCount }',
      },
    ],
    mustFail: ['ack.release-not-counted', 'settle.settlements-held', 'paths.delivery-counts'],
  },
  {
    name: 'rabbitmq/replay-keeps-delivery-count',
    bug: 'a replayed dead letter carries the delivery count it died with instead of starting again',
    patches: [{ file: 'src/dead-letters.ts', find: 'carried: 0,', replace: 'carried: entry.deliveryCount,' }],
    mustFail: ['paths.delivery-counts'],
  },
  {
    name: 'rabbitmq/move-acks-before-publish',
    bug: 'retry and dead-letter ack the original first and publish the new copy after',
    patches: [
      {
        file: 'src/delivery.ts',
        find: "    try {\n      await publish()\n    } catch (error) {\n      this.giveBackLater()\n      throw error\n    }\n    await this.ackNow('move')",
        replace: "    await this.ackNow('move')\n    await publish()",
      },
    ],
    mustFail: ['paths.interrupted-moves'],
  },
  {
    name: 'rabbitmq/refused-move-acks-anyway',
    bug: 'when the new copy of a retry or dead-letter is refused, the original is acked anyway: the message is gone',
    patches: [
      {
        file: 'src/delivery.ts',
        find: '      this.giveBackLater()\n      throw error',
        replace: "      await this.ackNow('move')\n      throw error",
      },
    ],
    mustFail: ['paths.refused-move-keeps-message'],
  },
  {
    name: 'rabbitmq/stats-in-flight-of-every-queue',
    bug: 'stats count the deliveries this instance holds on every queue as in flight on the one asked for',
    patches: [
      {
        file: 'src/broker-queues.ts',
        find: 'for (const consumer of consumers) if (consumer.queue === queue) inFlight',
        replace: 'for (const consumer of consumers) inFlight',
      },
    ],
    mustFail: ['lifecycle.stats-per-queue'],
  },
  {
    name: 'rabbitmq/prefetch-after-consume',
    bug: 'the consumer sets its prefetch after basic.consume: messages already waiting all arrive at once',
    patches: [
      {
        file: 'src/consumer.ts',
        find: '      await channel.prefetch(this.prefetch, false)\n      const work = this.ctx.topology.names(this.queue).work\n      const { consumerTag } = await channel.consume(work, (message) => this.onMessage(slot, message), { noAck: false })',
        replace:
          '      const work = this.ctx.topology.names(this.queue).work\n      const { consumerTag } = await channel.consume(work, (message) => this.onMessage(slot, message), { noAck: false })\n      await channel.prefetch(this.prefetch, false)',
      },
    ],
    mustFail: ['concurrency.prefetch-respected'],
  },
  {
    name: 'rabbitmq/dead-letter-copies-kept',
    bug: 'dead letters of one run written twice (a worker killed between the dead letter and the ack) are listed and replayed twice',
    patches: [
      {
        file: 'src/dead-letters.ts',
        find: 'const run = runKey(entry)',
        replace: 'const run: string | undefined = undefined',
      },
    ],
    mustFail: ['dead-letter.one-per-run'],
  },
]
