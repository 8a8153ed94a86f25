import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'
import type { Delivery } from '@conveyor/core/adapter'
import { envelope, eventually, sleep } from '@conveyor/test-support'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, makeBroker, uniquePrefix } from './helpers'

/**
 * A TCP proxy in front of the shared RabbitMQ: closing it is a network outage for the broker under test only
 * (the server, and everybody else's connections, are untouched).
 */
class OutageProxy {
  private server: Server | undefined
  private readonly sockets = new Set<Socket>()
  port = 0

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = tcpConnect(5672, '127.0.0.1')
      for (const socket of [client, upstream]) {
        this.sockets.add(socket)
        socket.on('error', () => {})
        socket.on('close', () => this.sockets.delete(socket))
      }
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve))
    this.port = (server.address() as { port: number }).port
    this.server = server
  }

  /** Cut every connection and refuse new ones. */
  async stop(): Promise<void> {
    const server = this.server
    this.server = undefined
    for (const socket of this.sockets) socket.destroy()
    if (server) await new Promise((resolve) => server.close(resolve))
  }
}

describe('rabbitmq during a network outage', () => {
  let prefix = ''
  const proxy = new OutageProxy()
  afterEach(async () => {
    await proxy.stop()
    await cleanup(prefix)
  })

  it('holds publishes while the network is down, confirms them after, and resumes consuming', async () => {
    prefix = uniquePrefix('outage')
    await proxy.start()
    const url = `amqp://guest:guest@127.0.0.1:${proxy.port}`
    const broker = makeBroker(prefix, {
      url,
      publishTimeoutMs: 8_000,
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    })
    await broker.declare({ name: 'q' })
    const got: Delivery[] = []
    await broker.consume('q', (d) => got.push(d), { prefetch: 5 })
    await proxy.stop()
    const sent = envelope('q')
    let settled = false
    const outcome = broker.publish(sent).then(
      () => 'confirmed',
      (error: Error) => error.message,
    )
    void outcome.then(() => {
      settled = true
    })
    await sleep(700)
    expect(settled).toBe(false) // no confirm yet, so neither success nor failure
    await proxy.start()
    expect(await outcome).toBe('confirmed')
    await eventually(() => got.length === 1, 10_000, 'the consumer to resume')
    expect(got[0]!.envelope).toEqual(sent)
    await got[0]!.ack()
    await broker.close()
  })

  it('rejects a publish clearly when the outage outlasts publishTimeoutMs', async () => {
    prefix = uniquePrefix('outage-long')
    await proxy.start()
    const url = `amqp://guest:guest@127.0.0.1:${proxy.port}`
    const broker = makeBroker(prefix, {
      url,
      publishTimeoutMs: 600,
      reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    })
    await broker.declare({ name: 'q' })
    await proxy.stop()
    const started = Date.now()
    await expect(broker.publish(envelope('q'))).rejects.toMatchObject({ code: 'CONVEYOR_NOT_CONNECTED' })
    expect(Date.now() - started).toBeLessThan(3_000)
    await broker.destroy()
  })
})
