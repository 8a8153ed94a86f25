import { killConnection } from '@conveyor/rabbitmq/testing'
import { envelope, rawChannel, sleep } from '@conveyor/test-support'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, makeBroker, uniquePrefix } from './helpers'

describe('rabbitmq: a subscription cancelled while its channel is being reopened', () => {
  let prefix = ''
  afterEach(async () => cleanup(prefix))

  it('stays cancelled once the connection is back: no consumer on the server, the message stays ready', async () => {
    prefix = uniquePrefix('cancel-reopen')
    const broker = makeBroker(prefix, { logger: false })
    await broker.declare({ name: 'q' })
    let handled = 0
    const sub = await broker.consume(
      'q',
      (d) => {
        handled++
        d.ack().catch(() => {})
      },
      { prefetch: 5 },
    )
    expect(killConnection(broker)).toBe(true)
    // The consumer's channel is gone and its reopen waits for the reconnect: cancel in that window (worker.stop()).
    await sleep(20)
    await sub.cancel()
    await broker.publish(envelope('q'))
    await sleep(1_500)
    const raw = await rawChannel()
    try {
      const { consumerCount, messageCount } = await raw.channel.checkQueue(broker.queueNames('q').work)
      expect(consumerCount).toBe(0)
      expect(messageCount).toBe(1)
    } finally {
      await raw.close()
    }
    expect(handled).toBe(0)
  })
})
