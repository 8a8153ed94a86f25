import { createServer, type Server, connect as tcpConnect } from 'node:net'
import type { Delivery } from '@conveyor/core/adapter'
import { createRabbitMQBroker, rabbitmqAdapter } from '@conveyor/rabbitmq'
import { AMQP_URL, envelope, eventually, rawChannel } from '@conveyor/test-support'
import { connect } from 'amqplib'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, makeBroker, uniquePrefix } from './helpers'

describe('rabbitmq connections', () => {
  let prefix = ''
  afterEach(async () => cleanup(prefix))

  it('fails fast and clearly when the server is unreachable', async () => {
    prefix = uniquePrefix('down')
    const broker = createRabbitMQBroker({
      url: 'amqp://guest:guest@127.0.0.1:1',
      prefix,
      reconnect: { initialMaxRetries: 1, initialDelayMs: 10 },
    })
    const started = Date.now()
    await expect(broker.publish(envelope('q'))).rejects.toMatchObject({ code: 'CONVEYOR_NOT_CONNECTED' })
    expect(Date.now() - started).toBeLessThan(5_000)
    await broker.destroy()
  })

  it('connects on a later connect() once the server is up, after the first connect() failed', async () => {
    prefix = uniquePrefix('late-up')
    const port = await freePort()
    const broker = makeBroker(prefix, {
      url: `amqp://guest:guest@127.0.0.1:${port}`,
      reconnect: { initialDelayMs: 50, initialMaxRetries: 1 },
    })
    await expect(broker.connect()).rejects.toMatchObject({ code: 'CONVEYOR_NOT_CONNECTED' })
    // The server comes up: a forwarder to the shared RabbitMQ starts listening on that port.
    const forwarder = await forward(port)
    try {
      await broker.connect()
      await broker.declare({ name: 'q' })
      await broker.publish(envelope('q'))
      await eventually(async () => (await broker.stats('q')).ready === 1, 5_000, 'the published job')
      await broker.close()
    } finally {
      forwarder.close()
    }
  })

  it('resumes a consumer whose queue was deleted under it (the server cancels the consumer)', async () => {
    prefix = uniquePrefix('resume')
    const broker = makeBroker(prefix)
    await broker.declare({ name: 'q' })
    const got: Delivery[] = []
    await broker.consume('q', (d) => got.push(d), { prefetch: 1 })
    const raw = await rawChannel()
    await raw.channel.deleteQueue(broker.queueNames('q').work)
    await raw.close()
    // The consumer, cancelled by the server, declares the queue again and consumes on a new channel.
    const sent = envelope('q')
    await eventually(
      async () => {
        await broker.publish(sent).catch(() => {}) // unroutable until the queue is back
        return got.length > 0
      },
      10_000,
      'the resumed consumer',
    )
    expect(got[0]!.envelope.id).toBe(sent.id)
    await got[0]!.ack()
    await broker.close()
  })

  it('works on a connection the caller holds, and leaves it open', async () => {
    prefix = uniquePrefix('own')
    const connection = await connect(AMQP_URL)
    connection.on('error', () => {})
    const broker = makeBroker(prefix, { connection, url: undefined })
    await broker.publish(envelope('q'))
    const got: Delivery[] = []
    await broker.consume('q', (d) => got.push(d), { prefetch: 1 })
    await eventually(() => got.length === 1)
    await got[0]!.ack()
    await broker.close()
    // destroy() on a shared connection drops the broker's channels, not the connection: deliveries come back.
    const crashed = makeBroker(prefix, { connection, url: undefined })
    const sent = envelope('q')
    await crashed.publish(sent)
    const held: Delivery[] = []
    await crashed.consume('q', (d) => held.push(d), { prefetch: 1 })
    await eventually(() => held.length === 1)
    await crashed.destroy()
    const again = makeBroker(prefix)
    const back: Delivery[] = []
    await again.consume('q', (d) => back.push(d), { prefetch: 1 })
    await eventually(() => back.length === 1, 10_000, 'the redelivery')
    expect(back[0]!.envelope.id).toBe(sent.id)
    expect(back[0]!.deliveryCount).toBe(2)
    await back[0]!.ack()
    await again.close()
    const channel = await connection.createChannel() // still usable
    await channel.close()
    await connection.close()
  })

  it('resolves amqp:// URLs with prefix and queueType parameters', async () => {
    prefix = uniquePrefix('url')
    const broker = rabbitmqAdapter.createBroker(`${AMQP_URL}?prefix=${prefix}&queueType=quorum`)
    expect(rabbitmqAdapter.protocols).toEqual(['amqp', 'amqps'])
    expect(broker.capabilities.priorityLevels).toBe(1)
    await broker.publish(envelope('q'))
    const raw = await rawChannel()
    expect((await raw.channel.checkQueue(`${prefix}.q`)).messageCount).toBe(1)
    await raw.close()
    await broker.close()
    await cleanup(prefix, [
      `${prefix}.q`,
      `${prefix}.q.dead`,
      ...['100ms', '500ms', '2s', '10s', '1m', '5m', '30m', '3h'].map((l) => `${prefix}.q.delay.${l}`),
    ])
  })

  it('waits for drain under a burst of large publishes and confirms them all', async () => {
    prefix = uniquePrefix('burst')
    const broker = makeBroker(prefix)
    await broker.declare({ name: 'q' })
    const big = 'x'.repeat(128 * 1024)
    await Promise.all(Array.from({ length: 100 }, () => broker.publish(envelope('q', { payload: big }))))
    expect((await broker.stats('q')).ready).toBe(100)
    await broker.close()
  })
})

/** A port in our range (10000–11999) nothing listens on. */
async function freePort(): Promise<number> {
  for (;;) {
    const port = 10_000 + Math.floor(Math.random() * 2_000)
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer()
      probe.once('error', () => resolve(false))
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)))
    })
    if (free) return port
  }
}

/** Forward `port` to the shared RabbitMQ: the server "comes up" there. Closing it cuts the forwarded connections. */
async function forward(port: number): Promise<{ close(): void }> {
  const sockets = new Set<{ destroy(): void }>()
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(5672, '127.0.0.1')
    sockets.add(client).add(upstream)
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    close() {
      for (const socket of sockets) socket.destroy()
      server.close()
    },
  }
}
