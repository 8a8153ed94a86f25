import { randomUUID } from 'node:crypto'
import { NotConnectedError } from '@conveyor/core'
import { type Channel, type ChannelModel, type ConsumeMessage, connect } from 'amqplib'

/** Where the reply queue lives and how long it outlives its last consumer. */
export interface ReplyQueueOptions {
  readonly url: string | undefined
  /** An existing connection (never closed here); instead of `url`. */
  readonly connection: ChannelModel | undefined
  /** `x-expires` of the queue, ms. */
  readonly expiresMs: number
  /** Each message that arrives on the queue. */
  readonly onMessage: (message: ConsumeMessage | null) => void
}

interface Opened {
  readonly model: ChannelModel
  readonly channel: Channel
}

/**
 * The connection of Celery's RPC result backend: opened on first use (and again after a failed attempt), with a
 * reply queue of its own (non-durable, auto-delete, as Celery's) consumed without acks; the channel also publishes
 * the replies of this process's runs.
 */
export class ReplyQueue {
  readonly name = randomUUID()
  private opening: Promise<Opened> | undefined
  private closedFlag = false

  constructor(private readonly options: ReplyQueueOptions) {}

  get closed(): boolean {
    return this.closedFlag
  }

  open(): Promise<Opened> {
    if (this.closedFlag) return Promise.reject(new NotConnectedError('[celery] the result backend is closed'))
    if (this.opening === undefined) {
      const opening = this.declare()
      this.opening = opening
      opening.catch(() => {
        if (this.opening === opening) this.opening = undefined
      })
    }
    return this.opening
  }

  /** Close the channel (and the connection when this queue made it). Once. */
  async close(): Promise<void> {
    if (this.closedFlag) return
    this.closedFlag = true
    const current = await this.opening?.catch(() => undefined)
    if (current === undefined) return
    await current.channel.close().catch(() => undefined)
    if (this.options.connection === undefined) await current.model.close().catch(() => undefined)
  }

  private async declare(): Promise<Opened> {
    const { options } = this
    const model = options.connection ?? (await connect(options.url ?? 'amqp://guest:guest@127.0.0.1:5672'))
    const channel = await model.createChannel()
    await channel.assertQueue(this.name, {
      durable: false,
      autoDelete: true,
      arguments: { 'x-expires': options.expiresMs },
    })
    await channel.consume(this.name, options.onMessage, { noAck: true })
    return { model, channel }
  }
}
