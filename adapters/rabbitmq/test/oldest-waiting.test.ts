import { collectMetrics, createApp } from '@conveyor/core'
import type { Delivery, QueueStats } from '@conveyor/core/adapter'
import {
  createRabbitMQBroker,
  type RabbitMQBroker,
  type RabbitMQBrokerOptions,
  rabbitmqAdapter,
} from '@conveyor/rabbitmq'
import { envelope, eventually, sleep } from '@conveyor/test-support'
import { connect } from 'amqplib'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { uniquePrefix } from './helpers'
import { type PrivateNode, startPrivateNode } from './private-node'

// A node of its own: the management plugin is off on the shared server, and enabling it there is not ours to do.
const BASE_PORT = 11_470
let node: PrivateNode
const brokers: RabbitMQBroker[] = []

beforeAll(async () => {
  node = await startPrivateNode(BASE_PORT, 'oldest')
}, 120_000)
afterEach(async () => {
  await Promise.all(brokers.splice(0).map((b) => b.close()))
})
afterAll(async () => {
  await node?.stop()
}, 30_000)

function broker(
  prefix: string,
  managementUrl: string | undefined = node.managementUrl,
  more: Partial<RabbitMQBrokerOptions> = {},
): RabbitMQBroker {
  const made = createRabbitMQBroker({
    url: node.amqpUrl,
    prefix,
    priorityLevels: 1,
    ...more,
    delayLevels: [50, 200, 1_000],
    logger: false,
    ...(managementUrl !== undefined ? { managementUrl } : {}),
  })
  brokers.push(made)
  return made
}

/** Stats once the management plugin's (lagging) statistics satisfy `ok`. */
async function statsWhen(b: RabbitMQBroker, queue: string, ok: (s: QueueStats) => boolean): Promise<QueueStats> {
  let last: QueueStats | undefined
  await eventually(
    async () => {
      last = await b.stats(queue)
      return ok(last)
    },
    20_000,
    'management statistics to catch up',
  )
  return last!
}

describe('RabbitMQ oldest-waiting age from the management API (head_message_timestamp)', () => {
  it('reports when the head became ready, follows the head as it is consumed, and nothing when none is ready', async () => {
    const b = broker(uniquePrefix('oldest'))
    await b.declare({ name: 'q' })
    const firstAt = Date.now()
    await b.publish(envelope('q', { id: 'first' }))
    await sleep(2_100)
    const secondAt = Date.now()
    await b.publish(envelope('q', { id: 'second' }))

    // AMQP timestamps are whole seconds: the head's time is the first publish, rounded down.
    const floor = (ms: number) => Math.floor(ms / 1000) * 1000
    const both = await statsWhen(b, 'q', (s) => s.ready === 2 && s.oldestReadyAt !== undefined)
    expect(both.oldestReadyAt).toBe(floor(firstAt))

    // Take the head and settle it: the age moves on to the second message (statistics lag up to their interval).
    const taken: Delivery[] = []
    const sub = await b.consume('q', (d) => taken.push(d), { prefetch: 1 })
    await eventually(() => taken.length === 1, 10_000, 'the head delivered')
    await sub.cancel()
    await taken[0]!.ack()
    expect(taken[0]!.envelope.id).toBe('first')
    const one = await statsWhen(b, 'q', (s) => s.oldestReadyAt === floor(secondAt))
    expect(one.ready).toBe(1)

    await b.purge('q')
    const none = await b.stats('q')
    expect(none.ready).toBe(0)
    expect(none.oldestReadyAt).toBeUndefined()
  }, 60_000)

  // What RabbitMQ 3.10 reports beyond FIFO queues, pinned so that docs/adapters/rabbitmq.md stays true.
  it('on a priority queue reports the head of the highest non-empty priority; on a quorum queue nothing', async () => {
    const floor = (ms: number) => Math.floor(ms / 1000) * 1000
    const prioritized = broker(uniquePrefix('oldest-prio'), node.managementUrl, { priorityLevels: 10 })
    await prioritized.declare({ name: 'q' })
    await prioritized.publish(envelope('q', { id: 'old-low', priority: 0 }))
    await sleep(2_100)
    const highAt = Date.now()
    await prioritized.publish(envelope('q', { id: 'new-high', priority: 9 }))
    const both = await statsWhen(prioritized, 'q', (s) => s.ready === 2 && s.oldestReadyAt !== undefined)
    expect(both.oldestReadyAt).toBe(floor(highAt))

    const quorum = broker(uniquePrefix('oldest-quorum'), node.managementUrl, { queueType: 'quorum' })
    await quorum.declare({ name: 'q' })
    await quorum.publish(envelope('q'))
    await statsWhen(quorum, 'q', (s) => s.ready === 1)
    await sleep(1_500)
    expect((await quorum.stats('q')).oldestReadyAt).toBeUndefined()
  }, 60_000)

  it('feeds conveyor_queue_oldest_waiting_seconds through the URL adapter (?managementPort)', async () => {
    const prefix = uniquePrefix('oldest-app')
    const url = `${node.amqpUrl}?prefix=${prefix}&priorityLevels=1&managementPort=${BASE_PORT + 2}`
    const app = createApp({ broker: url, adapters: [rabbitmqAdapter], logger: false, events: false })
    try {
      const metrics = collectMetrics(app, { queues: ['backlog'] })
      await app.enqueue('nobody.runs.this', { n: 1 }, { queue: 'backlog' })
      await sleep(2_100)
      let age = 0
      await eventually(
        async () => {
          const text = await metrics.render()
          const line = text.split('\n').find((l) => l.startsWith('conveyor_queue_oldest_waiting_seconds{'))
          age = Number(line?.split(' ')[1] ?? 0)
          return age >= 2
        },
        20_000,
        'the gauge to show the backlog’s age',
      )
      expect(age).toBeLessThan(30)
      metrics.close()
    } finally {
      await app.close()
    }
  }, 60_000)

  it('sets the AMQP timestamp and copies the trace context to headers; without managementUrl no age is read', async () => {
    const prefix = uniquePrefix('oldest-props')
    const b = broker(prefix, undefined)
    await b.declare({ name: 'q' })
    const before = Math.floor(Date.now() / 1000)
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    await b.publish(envelope('q', { id: 'p1', trace: { traceparent, tracestate: 'congo=t61' } }))
    const stats = await b.stats('q')
    expect(stats.ready).toBe(1)
    expect(stats.oldestReadyAt).toBeUndefined()

    const connection = await connect(node.amqpUrl)
    try {
      const channel = await connection.createChannel()
      const message = await channel.get(b.queueNames('q').work, { noAck: true })
      if (message === false) throw new Error('no message on the queue')
      expect(message.properties.timestamp).toBeGreaterThanOrEqual(before)
      expect(message.properties.timestamp).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000))
      expect(message.properties.headers).toMatchObject({ traceparent, tracestate: 'congo=t61' })
    } finally {
      await connection.close()
    }
  }, 30_000)

  it('an unreachable management API leaves the age out; the counts still stand', async () => {
    const b = broker(uniquePrefix('oldest-down'), `http://guest:secret@127.0.0.1:${BASE_PORT + 9}`)
    await b.declare({ name: 'q' })
    await b.publish(envelope('q'))
    const stats = await b.stats('q')
    expect(stats.ready).toBe(1)
    expect(stats.oldestReadyAt).toBeUndefined()
  }, 30_000)
})
