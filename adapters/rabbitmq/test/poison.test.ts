import type { Delivery } from '@conveyor/core/adapter'
import { envelope, eventually, rawChannel } from '@conveyor/test-support'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, makeBroker, uniquePrefix } from './helpers'

for (const queueType of ['classic', 'quorum'] as const) {
  describe(`rabbitmq poison messages (${queueType})`, () => {
    let prefix = ''
    afterEach(async () => cleanup(prefix))

    it('dead-letters a message that killed its consumer more than maxDeliveries times', async () => {
      prefix = uniquePrefix(`poison-${queueType}`)
      const producer = makeBroker(prefix, { queueType, maxDeliveries: 2 })
      await producer.declare({ name: 'q' })
      const sent = envelope('q')
      await producer.publish(sent)
      for (let i = 1; i <= 2; i++) {
        const victim = makeBroker(prefix, { queueType, maxDeliveries: 2 })
        const got: Delivery[] = []
        await victim.consume('q', (d) => got.push(d), { prefetch: 1 })
        await eventually(() => got.length === 1, 10_000, `delivery ${i}`)
        expect(got[0]!.deliveryCount).toBe(i)
        await victim.destroy()
      }
      const last = makeBroker(prefix, { queueType, maxDeliveries: 2 })
      const handed: Delivery[] = []
      await last.consume('q', (d) => handed.push(d), { prefetch: 1 })
      await eventually(async () => (await producer.deadLetters.count('q')) === 1, 10_000, 'the dead letter')
      expect(handed).toHaveLength(0)
      const [dead] = await producer.deadLetters.list('q')
      expect(dead).toMatchObject({ id: sent.id, reason: 'max-deliveries', deliveryCount: 3, envelope: sent })
      await last.close()
      await producer.close()
    })
  })
}

describe('rabbitmq server-side dead letters (quorum x-delivery-limit)', () => {
  let prefix = ''
  afterEach(async () => cleanup(prefix))

  it('lists what the server dead-lettered itself, from its x-death header', async () => {
    prefix = uniquePrefix('xdeath')
    const broker = makeBroker(prefix, { queueType: 'quorum', maxDeliveries: 3 })
    await broker.declare({ name: 'q' })
    const sent = envelope('q')
    await broker.publish(sent)
    // A foreign consumer rejects it without requeue: the server routes it through the queue's dead-letter settings.
    const raw = await rawChannel()
    const message = await raw.channel.get(broker.queueNames('q').work)
    expect(message).not.toBe(false)
    if (message !== false) raw.channel.nack(message, false, false)
    await raw.channel.checkQueue(broker.queueNames('q').work) // the nack is processed before we disconnect
    await raw.close()
    await eventually(async () => (await broker.deadLetters.count('q')) === 1)
    const [dead] = await broker.deadLetters.list('q')
    expect(dead).toMatchObject({ id: sent.id, reason: 'rejected', envelope: sent, attempts: 1 })
    expect(await broker.deadLetters.replay('q')).toBe(1)
    expect((await broker.stats('q')).ready).toBe(1)
    await broker.close()
  })
})
