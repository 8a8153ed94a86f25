import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'
import { createApp } from '@conveyor/core'
import { eventually } from '@conveyor/test-support'
import { afterEach, describe, expect, it } from 'vitest'
import { captureLogger } from '../../../packages/core/test/helpers'
import { rabbitmqAdapter } from '../src/index'
import { cleanup, uniquePrefix } from './helpers'

/** A TCP proxy to the shared RabbitMQ that the test can take down (every connection cut, none accepted) and back up. */
async function outageProxy(target = { host: '127.0.0.1', port: 5672 }) {
  const sockets = new Set<Socket>()
  let server: Server | undefined
  let port = 0
  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = tcpConnect(target)
        for (const s of [client, upstream]) {
          sockets.add(s)
          s.on('error', () => {})
          s.on('close', () => sockets.delete(s))
        }
        client.pipe(upstream).pipe(client)
      })
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port
        resolve()
      })
    })
  await listen()
  return {
    port: () => port,
    async down() {
      const closed = new Promise<void>((resolve) => server!.close(() => resolve()))
      for (const s of sockets) s.destroy()
      await closed
    },
    up: listen,
    async stop() {
      const closed = new Promise<void>((resolve) => (server?.listening ? server.close(() => resolve()) : resolve()))
      for (const s of sockets) s.destroy()
      await closed
    },
  }
}

describe('rabbitmq: outages are reported once lost and once back, with their length', () => {
  let prefix = ''
  afterEach(async () => cleanup(prefix))

  it('through the app logger of an app built from an amqp:// URL', { timeout: 60_000 }, async () => {
    prefix = uniquePrefix('outage-log')
    const proxy = await outageProxy()
    const { logger, lines } = captureLogger()
    const url = `amqp://guest:guest@127.0.0.1:${proxy.port()}?prefix=${prefix}`
    const app = createApp({ broker: url, results: false, adapters: [rabbitmqAdapter], logger })
    const done: number[] = []
    app.task('t', (input: number) => {
      done.push(input)
    })
    try {
      await app.worker({ queues: ['default'] }).start()
      await app.enqueue('t', 1)
      await eventually(() => done.length === 1, 10_000, 'the first run')
      await proxy.down()
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      await proxy.up()
      await app.enqueue('t', 2)
      await eventually(() => done.length === 2, 20_000, 'the run after the outage')
      const text = (l: Record<string, unknown>) => String(l.msg)
      const lost = lines.filter((l) => /connection lost/.test(text(l)))
      const back = lines.filter((l) => /connection back after/.test(text(l)))
      expect(lost).toHaveLength(1)
      expect(back).toHaveLength(1)
      expect(back[0]!.outageMs).toBeGreaterThanOrEqual(1_000)
      expect(JSON.stringify(lines)).not.toContain('guest:guest')
    } finally {
      await app.close()
      await proxy.stop()
    }
  })

  it('is one line lost and one back for broker and results on the same server, naming both', {
    timeout: 60_000,
  }, async () => {
    prefix = uniquePrefix('harden-outage-log')
    const proxy = await outageProxy()
    const { logger, lines } = captureLogger()
    const url = `amqp://guest:guest@127.0.0.1:${proxy.port()}?prefix=${prefix}`
    const app = createApp({ broker: url, results: url, adapters: [rabbitmqAdapter], logger })
    const double = app.task('double', (input: number) => input * 2)
    try {
      await app.worker({ queues: ['default'] }).start()
      // Both connections are open before the outage: the broker's and the RPC result backend's.
      expect(await (await double.enqueue(1)).result({ timeoutMs: 10_000 })).toBe(2)
      await proxy.down()
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      await proxy.up()
      await eventually(() => lines.some((l) => /connection back after/.test(String(l.msg))), 20_000, 'recovery')
      // The report comes with the first connection back; a reply sent before the result backend re-declared its
      // (exclusive, per-connection) reply queue would be dropped, as RPC results are: wait for that queue too.
      await eventually(() => lines.some((l) => /reply queue back/.test(String(l.msg))), 20_000, 'the reply queue')
      expect(await (await double.enqueue(2)).result({ timeoutMs: 20_000 })).toBe(4)
      const text = (l: Record<string, unknown>) => String(l.msg)
      const lost = lines.filter((l) => /connection lost/.test(text(l)))
      const back = lines.filter((l) => /connection back after/.test(text(l)))
      expect(lost).toHaveLength(1)
      expect(back).toHaveLength(1)
      expect(text(back[0]!)).toMatch(/broker, result backend|result backend, broker/)
      expect(text(back[0]!)).toContain(`at 127.0.0.1:${proxy.port()}`)
      expect(JSON.stringify(lines)).not.toContain('guest:guest')
    } finally {
      await app.close()
      await proxy.stop()
    }
  })
})
