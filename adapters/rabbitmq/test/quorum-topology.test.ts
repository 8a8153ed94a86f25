import { envelope, eventually, rawChannel } from '@conveyor/test-support'
import { afterEach, describe, expect, it } from 'vitest'
import { delayQueueArguments, legacyDelayQueueArguments } from '../src/delay-queues'
import type { RabbitMQLogger } from '../src/options'
import { cleanup, makeBroker, uniquePrefix } from './helpers'

/**
 * Whether `name` exists as a quorum queue with `args`: declaring it quorum again with its other arguments succeeds
 * only then (a classic one refuses).
 */
async function isQuorum(name: string, args: Record<string, unknown> = {}): Promise<boolean> {
  const raw = await rawChannel()
  try {
    await raw.channel.assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'quorum', ...args } })
    return true
  } catch {
    return false
  } finally {
    await raw.close()
  }
}

describe('rabbitmq quorum topology', () => {
  let prefix = ''
  afterEach(async () => cleanup(prefix))

  it('declares the delay and dead-letter queues of a quorum queue as quorum queues too', async () => {
    prefix = uniquePrefix('qtopo')
    const broker = makeBroker(prefix, { queueType: 'quorum' })
    await broker.declare({ name: 'q' })
    const names = broker.queueNames('q')
    expect(await isQuorum(names.work)).toBe(true)
    expect(await isQuorum(names.dead)).toBe(true)
    for (const level of names.delays) {
      // With at-least-once dead-lettering back to the work queue (which needs reject-publish overflow).
      const args = delayQueueArguments('quorum', names.work, level.ms)
      expect(args).toMatchObject({ 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' })
      expect(await isQuorum(level.name, args), level.name).toBe(true)
    }
    await broker.close()
  })

  it('keeps a classic dead-letter queue an earlier version declared, with a warning, and dead-letters into it', async () => {
    prefix = uniquePrefix('qlegacy')
    const warnings: string[] = []
    const logger: RabbitMQLogger = { debug() {}, info() {}, error() {}, warn: (_obj, msg) => warnings.push(msg ?? '') }
    const broker = makeBroker(prefix, { queueType: 'quorum', logger })
    const names = broker.queueNames('q')
    const raw = await rawChannel()
    await raw.channel.assertQueue(names.dead, { durable: true })
    await raw.close()

    await broker.declare({ name: 'q' })
    expect(warnings.join('\n')).toMatch(/exists as a classic queue next to the quorum queue/)
    await broker.publish(envelope('q'))
    await broker.consume('q', (delivery) => void delivery.deadLetter('rejected'), { prefetch: 1 })
    await eventually(async () => (await broker.stats('q')).dead === 1, 10_000, 'the dead letter')
    expect(await isQuorum(names.dead)).toBe(false)
    await broker.close()
  })

  it('keeps delay queues an earlier version declared without at-least-once dead-lettering, with a warning, and delays through them', async () => {
    prefix = uniquePrefix('qlegdelay')
    const warnings: string[] = []
    const logger: RabbitMQLogger = { debug() {}, info() {}, error() {}, warn: (_obj, msg) => warnings.push(msg ?? '') }
    const broker = makeBroker(prefix, { queueType: 'quorum', logger })
    const names = broker.queueNames('q')
    const raw = await rawChannel()
    // Two of the levels as an earlier version declared them: each costs the declaration one more channel.
    for (const level of names.delays.slice(0, 2)) {
      await raw.channel.assertQueue(level.name, {
        durable: true,
        arguments: legacyDelayQueueArguments(names.work, level.ms),
      })
    }
    await raw.close()

    await broker.declare({ name: 'q' })
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/without at-least-once dead-lettering/)
    expect(warnings[0]).toContain('rabbitmqctl set_policy --apply-to queues')
    const legacy = legacyDelayQueueArguments(names.work, names.delays[0]!.ms)
    expect(await isQuorum(names.delays[0]!.name, legacy)).toBe(true)
    const fresh = names.delays.at(-1)!
    expect(await isQuorum(fresh.name, delayQueueArguments('quorum', names.work, fresh.ms))).toBe(true)

    const sent = envelope('q', { notBefore: Date.now() + 300 })
    const got: string[] = []
    await broker.consume('q', (delivery) => void delivery.ack().then(() => got.push(delivery.envelope.id)), {
      prefetch: 1,
    })
    await broker.publish(sent)
    await eventually(() => got.includes(sent.id), 10_000, 'the delayed job')
    await broker.close()
  })
})
