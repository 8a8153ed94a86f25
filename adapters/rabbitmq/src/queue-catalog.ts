import type { ConfirmChannel, GetMessage } from 'amqplib'
import type { Connection } from './connection'

/**
 * The logical queues declared under a prefix, kept on the server so any process can list them (`Broker.listQueues`,
 * `conveyor inspect queues --broker amqp://…`). AMQP 0-9-1 cannot list queues (only the management plugin's HTTP
 * API can, and the adapter needs no plugin), so the catalogue is itself a durable queue, `<prefix>/queues`, holding
 * one message per name. Its name has a `/`, which logical queue names cannot, so it never meets a work queue.
 *
 * - Each broker instance adds a name the first time it declares that queue (a process restart adds it again).
 * - `list` reads every message without removing it (`basic.get`, then the channel closes and they go back); when it
 *   finds repeats it writes each name once and acknowledges what it read, so the catalogue stays about as long as
 *   the list of queues. A second `list` running at that very moment sees only what the first is not holding.
 */
export class QueueCatalog {
  private readonly added = new Set<string>()

  constructor(
    private readonly connection: Connection,
    /** The catalogue queue: `catalogName(prefix)`. */
    readonly name: string,
    private readonly timeoutMs: number,
  ) {}

  /** Record `queue` (once per instance). Resolves when the server confirmed it. */
  async add(queue: string): Promise<void> {
    if (this.added.has(queue)) return
    await this.withChannel(async (channel) => {
      channel.sendToQueue(this.name, Buffer.from(queue), { persistent: true, contentType: 'text/plain' })
      await channel.waitForConfirms()
    })
    this.added.add(queue)
  }

  /** Every name recorded, sorted. */
  async list(): Promise<string[]> {
    return this.withChannel(async (channel) => {
      const read: GetMessage[] = []
      for (;;) {
        const message = await channel.get(this.name, { noAck: false })
        if (message === false) break
        read.push(message)
      }
      const names = [...new Set(read.map((m) => m.content.toString()))].sort()
      if (read.length > names.length) {
        // Compact: each name once, confirmed, before the copies read are acknowledged (nothing is lost if we die).
        for (const name of names) {
          channel.sendToQueue(this.name, Buffer.from(name), { persistent: true, contentType: 'text/plain' })
        }
        await channel.waitForConfirms()
        const last = read.at(-1)
        if (last) channel.ack(last, true)
      }
      return names
    })
  }

  private async withChannel<T>(fn: (channel: ConfirmChannel) => Promise<T>): Promise<T> {
    const channel = await this.connection.confirmChannel(Date.now() + this.timeoutMs)
    channel.on('error', () => {})
    try {
      await channel.assertQueue(this.name, { durable: true })
      return await fn(channel)
    } finally {
      await channel.close().catch(() => {})
    }
  }
}

/**
 * `<prefix>/queues`, so `/queues` with the empty prefix: a name no prefix can make (prefixes hold no `/`). It was
 * `conveyor/queues`, the default prefix's, and a prefix-'' app and a default app on one vhost listed each other's
 * queues.
 */
export function catalogName(prefix: string): string {
  return `${prefix}/queues`
}
