import { NotConnectedError } from '@conveyor/core'
import type { ResultSetOptions, TaskRecord } from '@conveyor/core/adapter'
import type { Channel, ConsumeMessage, Options } from 'amqplib'
import { type Connection, withDeadline } from './connection'
import { REPLY_TO_HEADER } from './headers'
import type { Loopbacks } from './loopbacks'
import type { RabbitMQLogger } from './options'
import { encodeReply } from './reply-message'

const LOG = '[conveyor] [rabbitmq] RPC results:'

/** What the sender needs from its result backend. */
export interface ReplySenderSetup {
  readonly connection: Connection
  /** This instance's own reply queue. */
  readonly replyQueue: string
  readonly loopbacks: Loopbacks
  readonly publishTimeoutMs: number
  readonly logger: RabbitMQLogger
}

/**
 * Sends records to the reply queue their run names, through the default exchange on a channel of its own
 * (mandatory: a reply queue that is gone is reported, not silently dropped).
 */
export class ReplySender {
  private publishing: Promise<Channel> | undefined

  constructor(private readonly setup: ReplySenderSetup) {}

  /**
   * `ResultBackend.set`: to the reply queue of the run that wrote it. A direct set (no run behind it) addresses this
   * instance: it still goes through the server, so the wire is what gets exercised, and resolves once it is back.
   */
  async set(record: TaskRecord, { envelope, ttlMs }: ResultSetOptions): Promise<void> {
    const { replyQueue, logger, loopbacks } = this.setup
    const target = envelope === undefined ? replyQueue : envelope.headers?.[REPLY_TO_HEADER]
    if (target === undefined) {
      logger.debug(
        { taskId: record.id, state: record.state },
        `${LOG} the run names no reply queue (enqueued without this backend); record not sent`,
      )
      return
    }
    if (typeof target !== 'string' || target.length === 0 || Buffer.byteLength(target) > 255) {
      logger.warn({ taskId: record.id, target }, `${LOG} the run's reply queue is not a queue name; record not sent`)
      return
    }
    const body = encodeReply(record, ttlMs)
    if (target !== replyQueue) return this.send(target, body, record)
    const { correlationId, back } = loopbacks.open()
    try {
      await this.send(target, body, record, correlationId)
      await withDeadline(back, Date.now() + this.setup.publishTimeoutMs, 'the record to come back on the reply queue')
    } finally {
      loopbacks.forget(correlationId)
    }
  }

  async close(): Promise<void> {
    const pub = this.publishing
    this.publishing = undefined
    await pub?.then((c) => c.close()).catch(() => {})
  }

  private async send(target: string, body: Buffer, record: TaskRecord, correlationId?: string): Promise<void> {
    const deadline = Date.now() + this.setup.publishTimeoutMs
    const properties: Options.Publish = {
      mandatory: true,
      persistent: false,
      contentType: 'application/json',
      type: 'conveyor.task-record',
      messageId: record.id,
      ...(correlationId !== undefined ? { correlationId } : {}),
    }
    let channel = await this.channel()
    let fits: boolean
    try {
      fits = channel.publish('', target, body, properties)
    } catch {
      // The channel closed under us (amqplib throws on a closed channel): once more on a fresh one.
      this.publishing = undefined
      channel = await this.channel()
      fits = channel.publish('', target, body, properties)
    }
    // amqplib buffers past its high-water mark; wait for room rather than buffer without bound.
    if (!fits) await withDeadline(drainOrClose(channel), deadline, 'the reply channel to drain')
  }

  private channel(): Promise<Channel> {
    if (this.publishing !== undefined) return this.publishing
    const { connection, logger, loopbacks } = this.setup
    const opened: Promise<Channel> = connection.channel(Date.now() + this.setup.publishTimeoutMs).then(
      (channel) => {
        channel.on('error', (error: Error) => logger.warn({ err: error }, `${LOG} publish channel error`))
        channel.on('close', () => {
          if (this.publishing === opened) this.publishing = undefined
        })
        // Mandatory, so a reply queue that is gone (its producer stopped) is reported here instead of vanishing.
        channel.on('return', (message: ConsumeMessage) => {
          logger.debug(
            { queue: message.fields.routingKey, taskId: message.properties.messageId },
            `${LOG} reply queue gone (its producer stopped); record dropped`,
          )
          const correlationId = message.properties.correlationId as string | undefined
          if (correlationId === undefined) return
          loopbacks.failed(
            correlationId,
            new NotConnectedError('[rabbitmq] RPC results: own reply queue missing (reconnecting?)'),
          )
        })
        return channel
      },
      (error: unknown) => {
        if (this.publishing === opened) this.publishing = undefined
        throw error
      },
    )
    this.publishing = opened
    return opened
  }
}

/** Resolves when the channel has room again or closed. */
function drainOrClose(channel: Channel): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      channel.off('drain', done)
      channel.off('close', done)
      resolve()
    }
    channel.on('drain', done)
    channel.on('close', done)
  })
}
