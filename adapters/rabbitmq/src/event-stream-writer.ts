import type { ConfirmChannel } from 'amqplib'
import type { Connection } from './connection'

/** What the writer needs from its stream. */
export interface EventWriterSetup {
  readonly connection: Connection
  readonly queue: string
  /** Declares the stream queue (once). */
  readonly declare: () => Promise<void>
  /** Throws once the stream is closed. */
  readonly ensureOpen: () => void
}

/** Publishes events to the stream queue on a confirm channel of its own, reopened after it closes. */
export class EventWriter {
  private publisher: Promise<ConfirmChannel> | undefined

  constructor(private readonly setup: EventWriterSetup) {}

  /** One message per event (the stream offset is the event's offset); resolves once all are confirmed. */
  async append(texts: readonly string[]): Promise<void> {
    this.setup.ensureOpen()
    if (texts.length === 0) return
    const channel = await this.confirmChannel()
    for (const text of texts) {
      channel.publish('', this.setup.queue, Buffer.from(text), { contentType: 'application/json' })
    }
    await channel.waitForConfirms()
  }

  async close(): Promise<void> {
    const channel = await this.publisher?.catch(() => undefined)
    await channel?.close().catch(() => undefined)
  }

  private confirmChannel(): Promise<ConfirmChannel> {
    this.publisher ??= (async () => {
      await this.setup.declare()
      const channel = await this.setup.connection.confirmChannel()
      channel.on('error', () => undefined)
      channel.once('close', () => {
        this.publisher = undefined
      })
      return channel
    })().catch((error: unknown) => {
      this.publisher = undefined
      throw error
    })
    return this.publisher
  }
}
