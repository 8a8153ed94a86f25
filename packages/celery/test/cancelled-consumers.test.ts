// A cancelled subscription stays the broker's until the deliveries it handed out are settled (they count as in flight
// and a close gives them back), and not after: a worker that subscribes and cancels again and again (queues added and
// removed at run time) must not grow the broker's list, nor keep a lease timer per old subscription running.
import type { Broker, Delivery } from '@conveyor/core/adapter'
import { envelope, until } from '@conveyor/test-support'
import { afterAll, describe, expect, it } from 'vitest'
import { createCeleryAmqpBroker, createCeleryRedisBroker } from '../src/index'
import { AMQP_URL, cleanAmqp, rawAmqp } from './amqp-helpers'
import { CELERY_REDIS_URL, cleanRedis, rawRedis, uniqueNamespace, uniqueQueue } from './redis-helpers'

/** The brokers' own list of subscriptions: what this test is about, and not visible through the contract. */
const subscriptions = (broker: Broker) => (broker as unknown as { consumers: ReadonlySet<unknown> }).consumers

async function cancelWhileHolding(broker: Broker, queue: string): Promise<void> {
  await broker.declare({ name: queue })
  for (let round = 1; round <= 3; round++) {
    await broker.publish(envelope(queue, { payload: { args: [round], kwargs: {} } }))
    const got: Delivery[] = []
    const subscription = await broker.consume(queue, (delivery) => got.push(delivery), { prefetch: 1 })
    await until(() => got.length === 1, 5000)
    await subscription.cancel()
    // Still holding one: counted as in flight, and still the broker's to give back on close.
    expect(subscriptions(broker).size).toBe(1)
    expect((await broker.stats(queue)).inFlight).toBe(1)
    await got[0]!.ack()
    await until(() => subscriptions(broker).size === 0, 5000)
    expect(await broker.stats(queue)).toMatchObject({ ready: 0, inFlight: 0 })
  }
}

/** A close gives back what a cancelled subscription still holds: another broker on the queue gets it. */
async function closeWhileHolding(make: () => Broker, queue: string): Promise<void> {
  const broker = make()
  await broker.declare({ name: queue })
  await broker.publish(envelope(queue, { payload: { args: [1], kwargs: {} } }))
  const got: Delivery[] = []
  const subscription = await broker.consume(queue, (delivery) => got.push(delivery), { prefetch: 1 })
  await until(() => got.length === 1, 5000)
  await subscription.cancel()
  await broker.close({ timeoutMs: 0 })
  const next = make()
  const again: Delivery[] = []
  await next.consume(queue, (delivery) => again.push(delivery), { prefetch: 1 })
  await until(() => again.length === 1, 5000)
  expect(again[0]!.envelope.id).toBe(got[0]!.envelope.id)
  await again[0]!.ack()
  await next.close()
}

describe('cancelled Celery subscriptions', { timeout: 30_000 }, () => {
  const cleanups: (() => Promise<void>)[] = []
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup()
  })

  it('on Redis, are forgotten once what they handed out is settled, and given back by a close before', async () => {
    const queue = uniqueQueue('cancel')
    const namespace = uniqueNamespace('cancel')
    const broker = createCeleryRedisBroker({ url: CELERY_REDIS_URL, namespace, logger: false })
    cleanups.push(async () => {
      await broker.close()
      const redis = await rawRedis()
      await cleanRedis(redis, queue, namespace)
      redis.disconnect()
    })
    await cancelWhileHolding(broker, queue)
    await closeWhileHolding(() => createCeleryRedisBroker({ url: CELERY_REDIS_URL, namespace, logger: false }), queue)
  })

  it('on RabbitMQ, are forgotten once what they handed out is settled, and given back by a close before', async () => {
    const queue = uniqueQueue('cancel')
    const broker = createCeleryAmqpBroker({ url: AMQP_URL, logger: false })
    cleanups.push(async () => {
      await broker.close()
      const raw = await rawAmqp()
      await cleanAmqp(raw, queue)
      await raw.close()
    })
    await cancelWhileHolding(broker, queue)
    await closeWhileHolding(() => createCeleryAmqpBroker({ url: AMQP_URL, logger: false }), queue)
  })
})
