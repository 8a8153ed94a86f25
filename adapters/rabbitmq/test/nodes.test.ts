import type { Delivery } from '@conveyor/core/adapter'
import { DEFAULT_DELAY_LEVELS, queueNames, rabbitmqAdapter } from '@conveyor/rabbitmq'
import { AMQP_URL, envelope, eventually, rawChannel } from '@conveyor/test-support'
import { afterEach, describe, expect, it } from 'vitest'
import { nodeAddresses, splitHosts, toConnectObject } from '../src/nodes'
import { cleanup, makeBroker, uniquePrefix } from './helpers'

/** A loopback port in our private range where nothing listens: an attempt there is refused at once. */
const DEAD_NODE = 'amqp://guest:guest@127.0.0.1:10999'

describe('rabbitmq node lists', () => {
  let prefix = ''
  afterEach(async () => cleanup(prefix))

  it('splits a URL with comma-separated hosts into one URL per node, credentials, vhost and query kept', () => {
    expect(splitHosts('amqp://u:p%2C@a:1,b:2, c/vh?heartbeat=3')).toEqual([
      'amqp://u:p%2C@a:1/vh?heartbeat=3',
      'amqp://u:p%2C@b:2/vh?heartbeat=3',
      'amqp://u:p%2C@c/vh?heartbeat=3',
    ])
    expect(splitHosts('amqps://host:5671')).toEqual(['amqps://host:5671'])
    expect(nodeAddresses(['amqp://a,b', { hostname: 'c' }])).toEqual(['amqp://a', 'amqp://b', { hostname: 'c' }])
  })

  it('reads a URL as amqplib would, with a 5 s heartbeat unless the URL sets one', () => {
    expect(toConnectObject('amqp://us%40r:p%3Ass@h:1234/%2Fprod?heartbeat=30&frameMax=8192')).toEqual({
      protocol: 'amqp',
      hostname: 'h',
      port: 1234,
      username: 'us@r',
      password: 'p:ss',
      vhost: '%2Fprod',
      heartbeat: 30,
      frameMax: 8192,
    })
    expect(toConnectObject('amqp://h')).toEqual({ protocol: 'amqp', hostname: 'h', vhost: '/', heartbeat: 5 })
    expect(toConnectObject({ hostname: 'h', heartbeat: 0 })).toEqual({ hostname: 'h', heartbeat: 0 })
  })

  it('connects to the next node of the list when the first does not answer', async () => {
    prefix = uniquePrefix('nodes')
    const broker = makeBroker(prefix, { url: [DEAD_NODE, AMQP_URL], logger: false })
    const got: Delivery[] = []
    await broker.consume('q', (d) => got.push(d), { prefetch: 1 })
    await broker.publish(envelope('q'))
    await eventually(() => got.length === 1)
    await got[0]!.ack()
    await broker.close()
  })

  it('takes a comma-separated host list in a URL given to createApp (the URL adapter)', async () => {
    prefix = uniquePrefix('nodesurl')
    const [, hostAndRest] = AMQP_URL.split('@')
    const url = `amqp://guest:guest@127.0.0.1:10999,${hostAndRest}?prefix=${prefix}&heartbeat=7`
    const broker = rabbitmqAdapter.createBroker!(url)
    try {
      await broker.declare({ name: 'q' })
      const raw = await rawChannel()
      try {
        expect((await raw.channel.checkQueue(`${prefix}.q`)).queue).toBe(`${prefix}.q`)
      } finally {
        await raw.close()
      }
    } finally {
      await broker.destroy()
      const names = queueNames(prefix, 'q', DEFAULT_DELAY_LEVELS)
      await cleanup(prefix, [names.work, names.dead, ...names.delays.map((level) => level.name)])
    }
  })
})
