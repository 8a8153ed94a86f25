import { afterEach, describe, expect, it } from 'vitest'
import type { RabbitMQLogger } from '../src/options'
import { cleanup, envelope, eventually, makeBroker, rawChannel, uniquePrefix } from './helpers'

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
      const ttl = { 'x-message-ttl': level.ms, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': names.work }
      expect(await isQuorum(level.name, ttl), level.name).toBe(true)
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
})
