import { randomUUID } from 'node:crypto'
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'
import type { EventStream, StoredEvent } from '@conveyor/core/adapter'
import { createRabbitMQEventStream } from '@conveyor/rabbitmq'
import { AMQP_URL, startedEvent } from '@conveyor/test-support'
import { afterEach, describe, expect, it } from 'vitest'
import { deleteEventStream } from './helpers'

/**
 * A TCP proxy in front of the shared RabbitMQ that holds every byte from the broker for `delayMs` (in order): a broker
 * too busy to answer within any fixed window, deterministically, for the reader behind it only.
 */
class SlowBrokerProxy {
  private server: Server | undefined
  private readonly sockets = new Set<Socket>()
  port = 0

  constructor(private readonly delayMs: number) {}

  async start(): Promise<void> {
    const { hostname, port } = new URL(AMQP_URL)
    const server = createServer((client) => {
      const upstream = tcpConnect(Number(port || 5672), hostname)
      for (const socket of [client, upstream]) {
        this.sockets.add(socket)
        socket.on('error', () => undefined)
        socket.on('close', () => {
          client.destroy()
          upstream.destroy()
        })
      }
      client.pipe(upstream)
      upstream.on('data', (bytes: Buffer) => {
        setTimeout(() => client.destroyed || client.write(bytes), this.delayMs)
      })
    })
    this.server = server
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    this.port = (server.address() as { port: number }).port
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
  }
}

const ids = (events: readonly StoredEvent[]) => events.map((stored) => ('id' in stored.event ? stored.event.id : ''))

describe('rabbitmq event stream: reading from the end on a slow broker', () => {
  let prefix = ''
  const opened: EventStream[] = []
  const proxy = new SlowBrokerProxy(300)
  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((stream) => stream.close()))
    await proxy.stop()
    await deleteEventStream(prefix)
  })

  it("never returns events written before a read from 'end', however late the broker answers", async () => {
    prefix = `cvt.eve.${randomUUID().slice(0, 8)}`
    const writer = createRabbitMQEventStream({ url: AMQP_URL, prefix })
    opened.push(writer)
    await writer.publish([startedEvent(1), startedEvent(2)])
    await writer.publish([startedEvent(3)])
    await proxy.start()
    const reader = createRabbitMQEventStream({ url: `amqp://guest:guest@127.0.0.1:${proxy.port}`, prefix })
    opened.push(reader)
    await reader.connect()

    // A subscription's read: from the end, waiting for what comes next.
    const waiting = reader.read('end', { blockMs: 15_000 })
    const end = await reader.read('end')
    expect(end.events).toEqual([])
    // Nothing at or after a time continues from the end too.
    const later = await reader.read({ time: Date.now() + 60_000 })
    expect(later.events).toEqual([])
    await writer.publish([startedEvent(4)])
    expect(ids((await waiting).events)).toEqual(['run-4'])
    // Waits: a read that does not wait gets nothing from a broker this slow (that is allowed, old events are not).
    expect(ids((await reader.read({ after: end.cursor }, { blockMs: 3000 })).events)).toEqual(['run-4'])
    expect(ids((await reader.read({ after: later.cursor }, { blockMs: 3000 })).events)).toEqual(['run-4'])
  }, 30_000)
})
