import { sleep } from '@conveyor/core/adapter'
import type { Channel, ConsumeMessage } from 'amqplib'
import type { Connection } from './connection'
import type { Loopbacks } from './loopbacks'
import type { RabbitMQLogger } from './options'
import { decodeReply } from './reply-message'
import type { RpcRecordStore } from './result-records'

const LOG = '[conveyor] [rabbitmq] RPC results:'

/** What the reply queue needs from its result backend. */
export interface ReplyQueueSetup {
  readonly connection: Connection
  readonly name: string
  readonly store: RpcRecordStore
  readonly loopbacks: Loopbacks
  readonly publishTimeoutMs: number
  readonly logger: RabbitMQLogger
  /** The backend is open: a lost reply channel is opened again. */
  readonly running: () => boolean
}

/**
 * This instance's reply queue (exclusive, auto-delete, not durable), consumed into the record store. A lost channel
 * is reopened and the queue declared again under the same name, which the envelopes in flight carry.
 */
export class ReplyQueue {
  private channel: Channel | undefined
  private reopening = false

  constructor(private readonly setup: ReplyQueueSetup) {}

  async open(): Promise<void> {
    const { connection, name, logger } = this.setup
    const channel = await connection.channel(Date.now() + this.setup.publishTimeoutMs)
    channel.on('error', (error: Error) => logger.warn({ err: error, queue: name }, `${LOG} reply channel error`))
    channel.on('close', () => {
      if (this.channel === channel) this.channel = undefined
      if (this.setup.running()) void this.reopen()
    })
    try {
      // Exclusive: it dies with this connection, so a producer that is gone leaves nothing behind. After a
      // reconnect the same name is declared again (the envelopes in flight carry it).
      await channel.assertQueue(name, { exclusive: true, autoDelete: true, durable: false })
      await channel.consume(name, (message) => this.onReply(channel, message), { noAck: true })
      this.channel = channel
    } catch (error) {
      await channel.close().catch(() => {})
      throw error
    }
  }

  /** Delete the queue ourselves (a connection the user handed us stays open, and with it an exclusive queue). */
  async close(): Promise<void> {
    const channel = this.channel
    this.channel = undefined
    if (channel !== undefined) await channel.deleteQueue(this.setup.name).catch(() => {})
    await channel?.close().catch(() => {})
  }

  private onReply(channel: Channel, message: ConsumeMessage | null): void {
    if (message === null) {
      // The server cancelled our consumer (the queue was deleted): declare it again on a new channel.
      void channel.close().catch(() => {})
      return
    }
    const reply = decodeReply(message.content)
    if (reply === undefined) {
      this.setup.logger.warn(
        { queue: this.setup.name, bytes: message.content.length },
        `${LOG} ignoring a malformed reply`,
      )
    } else {
      this.setup.store.put(reply.record, reply.ttlMs)
    }
    const correlationId = message.properties.correlationId as string | undefined
    if (correlationId !== undefined) this.setup.loopbacks.arrived(correlationId)
  }

  private async reopen(): Promise<void> {
    if (this.reopening) return
    this.reopening = true
    const { connection, name, logger } = this.setup
    try {
      for (let attempt = 0; this.setup.running() && this.channel === undefined; attempt++) {
        try {
          await this.open()
          logger.info({ queue: name }, `${LOG} reply queue back`)
        } catch (error) {
          if (!connection.usable) return
          // Typically RESOURCE_LOCKED: the server has not yet noticed that our old connection, which owned the queue, died.
          logger.warn({ err: error, queue: name }, `${LOG} re-declaring the reply queue failed`)
          await sleep(Math.min(5_000, 100 * 2 ** attempt))
        }
      }
    } finally {
      this.reopening = false
    }
  }
}
