import { envelope, eventually, rawChannel } from '@conveyor/test-support'
import { afterEach, describe, expect, it } from 'vitest'
import { catalogName } from '../src/index'
import { cleanup, makeBroker, uniquePrefix } from './helpers'

describe('rabbitmq listQueues', () => {
  let prefix = ''
  afterEach(async () => cleanup(prefix))

  it('lists every queue declared under the prefix by any instance, one holding only a dead letter included', async () => {
    prefix = uniquePrefix('list')
    const producer = makeBroker(prefix)
    await producer.declare({ name: 'work' })
    await producer.publish(envelope('work'))
    // Another process's queue: its only message is dead-lettered.
    const other = makeBroker(prefix)
    await other.declare({ name: 'poison' })
    await other.publish(envelope('poison'))
    // The dead-letter move is awaited (its ack confirmed) before the instance is destroyed: destroying it while the
    // ack's confirmation is under way rejects the move (the message may run again), as it should.
    const moves: Promise<void>[] = []
    const subscription = await other.consume('poison', (d) => void moves.push(d.deadLetter('unrecoverable')), {
      prefetch: 1,
    })
    await eventually(async () => moves.length === 1)
    await Promise.all(moves)
    expect((await other.stats('poison')).dead).toBe(1)
    await subscription.cancel()
    await other.destroy()

    // A fresh instance (as `conveyor inspect queues --broker amqp://…` makes) knows neither queue itself.
    const inspector = makeBroker(prefix)
    expect(await inspector.listQueues?.()).toEqual(['poison', 'work'])
    expect(await inspector.stats('poison')).toMatchObject({ ready: 0, dead: 1 })
  })

  it('keeps the catalogue short: restarts that declare the same queues again are compacted on the next list', async () => {
    prefix = uniquePrefix('list-compact')
    for (let restart = 0; restart < 3; restart++) {
      const broker = makeBroker(prefix)
      await broker.declare({ name: 'a' })
      await broker.declare({ name: 'b' })
      await broker.destroy()
    }
    const raw = await rawChannel()
    try {
      expect((await raw.channel.checkQueue(catalogName(prefix))).messageCount).toBe(6)
      expect(await makeBroker(prefix).listQueues?.()).toEqual(['a', 'b'])
      expect((await raw.channel.checkQueue(catalogName(prefix))).messageCount).toBe(2)
      expect(await makeBroker(prefix).listQueues?.()).toEqual(['a', 'b'])
    } finally {
      await raw.close()
    }
  })
})
