import { catalogName, createRabbitMQBroker, type RabbitMQBroker } from '@conveyor/rabbitmq'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type PrivateNode, startPrivateNode } from './private-node'

// A node of its own: the catalogue of prefix '' is one queue for every prefix-'' app on a vhost, not ours to delete
// on the shared server, and the default prefix's catalogue is everyone's too.
const BASE_PORT = 11_530
let node: PrivateNode
const brokers: RabbitMQBroker[] = []

beforeAll(async () => {
  node = await startPrivateNode(BASE_PORT, 'catalog')
}, 120_000)
afterAll(async () => {
  await Promise.all(brokers.splice(0).map((b) => b.destroy()))
  await node?.stop()
}, 30_000)

function broker(prefix: string | undefined): RabbitMQBroker {
  const made = createRabbitMQBroker({ url: node.amqpUrl, logger: false, ...(prefix === undefined ? {} : { prefix }) })
  brokers.push(made)
  return made
}

describe('rabbitmq queue catalogue of the empty prefix', () => {
  it('is its own: a prefix-"" app and a default-prefix app on one vhost do not list each other\'s queues', async () => {
    const celery = broker('')
    const plain = broker(undefined)
    await celery.declare({ name: 'celery-q' })
    await plain.declare({ name: 'plain-q' })
    expect(await celery.listQueues?.()).toEqual(['celery-q'])
    expect(await plain.listQueues?.()).toEqual(['plain-q'])
    // No prefix can make '/queues' (prefixes hold no '/').
    expect(catalogName('')).toBe('/queues')
  })
})
