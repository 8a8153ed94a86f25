import { createServer, type Server, Socket } from 'node:net'

/**
 * A TCP proxy in front of Redis that can stop passing replies back while still passing commands on, then cut the
 * client off: the one way to make a command run on the server while its client never hears the answer (a network
 * cut or a server failover at the wrong moment). The client reconnects through the proxy, which then passes
 * everything again.
 */
export class ReplyDroppingProxy {
  private readonly server: Server
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>()
  private dropReplies = false

  private constructor(
    private readonly target: { host: string; port: number },
    server?: Server,
  ) {
    this.server =
      server ??
      createServer((client) => {
        const upstream = new Socket()
        const pair = { client, upstream }
        this.pairs.add(pair)
        upstream.connect(this.target.port, this.target.host)
        client.on('data', (chunk) => upstream.write(chunk))
        upstream.on('data', (chunk) => {
          if (!this.dropReplies) client.write(chunk)
        })
        const end = () => {
          this.pairs.delete(pair)
          client.destroy()
          upstream.destroy()
        }
        client.on('error', end).on('close', end)
        upstream.on('error', end).on('close', end)
      })
  }

  static async start(redisUrl: string): Promise<ReplyDroppingProxy> {
    const url = new URL(redisUrl)
    const proxy = new ReplyDroppingProxy({ host: url.hostname, port: Number(url.port || 6379) })
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve))
    return proxy
  }

  /** The URL to give the client under test. */
  get url(): string {
    const address = this.server.address()
    if (address === null || typeof address === 'string') throw new Error('proxy not listening')
    return `redis://127.0.0.1:${address.port}`
  }

  /** From now on commands still reach Redis, but its answers are thrown away. */
  swallowReplies(): void {
    this.dropReplies = true
  }

  /** Cut every client off (their unanswered commands are lost to them) and pass everything again. */
  cut(): void {
    for (const { client, upstream } of this.pairs) {
      client.destroy()
      upstream.destroy()
    }
    this.pairs.clear()
    this.dropReplies = false
  }

  async close(): Promise<void> {
    this.cut()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}
