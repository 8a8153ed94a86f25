import { type DeliveryHandler, type Envelope, longTimeout, type Subscription } from '@conveyor/core/adapter'
import type { Channel, ConsumeMessage } from 'amqplib'
import { deadLetterEntry } from '../dead-letter-entry'
import { CeleryDecodeError } from '../errors/celery-decode-error'
import { celeryToEnvelope } from '../protocol/message'
import { fromAmqp } from './amqp-message'
import { AmqpCeleryDelivery } from './delivery'
import { deadQueueOf } from './options'
import type { ConfirmPublisher } from './publisher'

export interface AmqpConsumerSettings {
  readonly channel: Channel
  readonly publisher: ConfirmPublisher
  readonly queue: string
  readonly prefetch: number
  readonly maxAttempts: (task: string) => number
  readonly onError: (error: unknown, what: string) => void
  /** Once cancelled with every delivery it handed out settled (its channel closing): the broker forgets it. */
  readonly onFinished: () => void
}

/**
 * Consumes one Celery queue on its own channel with manual acks: a consumer that dies (channel or connection
 * closed) gives every unacked message back to RabbitMQ, redelivered with `redelivered` set (classic queues) or
 * `x-delivery-count` (quorum queues). Messages whose ETA is ahead are held unacked until due, as Celery holds them,
 * with the channel's prefetch raised meanwhile so they do not starve the handler slots.
 */
export class AmqpCeleryConsumer implements Subscription {
  readonly held = new Set<AmqpCeleryDelivery>()
  /**
   * Messages held for their ETA, with the cancel of each wait (`longTimeout`: a plain `setTimeout` over 2³¹−1 ms,
   * 24.8 days, fires at once). Kept so `cancel()` can give them back instead of stranding them on this channel.
   */
  private readonly waiting = new Map<ConsumeMessage, () => void>()
  private consumerTag: string | undefined
  private cancelled = false
  private closing = false

  constructor(
    private readonly settings: AmqpConsumerSettings,
    private readonly handler: DeliveryHandler,
  ) {}

  get queue(): string {
    return this.settings.queue
  }

  async start(): Promise<void> {
    const { channel, queue } = this.settings
    await this.setPrefetch()
    const { consumerTag } = await channel.consume(queue, (message) => message && this.accept(message), {
      noAck: false,
    })
    this.consumerTag = consumerTag
  }

  /**
   * Stop consuming and requeue the messages waiting for their ETA: they were never handed out, and left unacked here
   * no other consumer (another worker, Python Celery) would get them until the connection closed. The channel closes
   * once the deliveries handed out are settled.
   */
  async cancel(): Promise<void> {
    const { channel } = this.settings
    if (this.consumerTag !== undefined) await channel.cancel(this.consumerTag).catch(() => undefined)
    this.consumerTag = undefined
    this.cancelled = true
    // amqplib's nack(message, allUpTo, requeue): this message only, back to its queue.
    const allUpTo = false
    const requeue = true
    for (const [message, stopTimer] of this.waiting) {
      stopTimer()
      try {
        channel.nack(message, allUpTo, requeue)
      } catch {
        // The channel is gone, and with it RabbitMQ has requeued the message already.
      }
    }
    this.waiting.clear()
    this.closeWhenIdle()
  }

  private closeWhenIdle(): void {
    if (!this.cancelled || this.closing || this.held.size > 0) return
    this.closing = true
    void this.settings.channel.close().catch(() => undefined)
    this.settings.onFinished()
  }

  private setPrefetch(): Promise<unknown> {
    // Per channel (amqplib's prefetch(count, global)), so a change applies to the running consumer at once.
    const global = true
    return this.settings.channel.prefetch(this.settings.prefetch + this.waiting.size, global)
  }

  private accept(message: ConsumeMessage): void {
    const { settings } = this
    let envelope: Envelope
    try {
      const celery = fromAmqp(message)
      envelope = celeryToEnvelope(celery, {
        queue: settings.queue,
        priority: Math.min(9, Math.max(0, celery.properties.priority ?? 0)),
        maxAttempts: settings.maxAttempts,
        now: Date.now(),
      })
    } catch (error) {
      this.refuse(message, error)
      return
    }
    const wait = (envelope.notBefore ?? 0) - Date.now()
    if (wait > 0) {
      const stopTimer = longTimeout(() => {
        this.waiting.delete(message)
        void this.setPrefetch().catch(() => undefined)
        this.deliver(message, envelope)
      }, wait)
      this.waiting.set(message, stopTimer)
      void this.setPrefetch().catch((error: unknown) => settings.onError(error, 'could not raise the prefetch'))
      return
    }
    this.deliver(message, envelope)
  }

  private deliver(message: ConsumeMessage, envelope: Envelope): void {
    const quorumCount = message.properties.headers?.['x-delivery-count']
    const deliveryCount = typeof quorumCount === 'number' ? quorumCount + 1 : message.fields.redelivered ? 2 : 1
    const { channel, publisher } = this.settings
    const delivery = new AmqpCeleryDelivery(channel, publisher, message, envelope, deliveryCount, (d) => {
      this.held.delete(d)
      this.closeWhenIdle()
    })
    this.held.add(delivery)
    this.handler(delivery)
  }

  /** Dead-letter what cannot be run, with the reason; the consumer goes on. */
  private refuse(message: ConsumeMessage, error: unknown): void {
    const { settings } = this
    const reason = error instanceof CeleryDecodeError ? error.reason : 'malformed'
    const entry = deadLetterEntry({
      queue: settings.queue,
      raw: message.content.toString('utf8'),
      reason,
      error: {
        name: (error as Error).name,
        message: (error as Error).message,
        code: (error as { code?: string }).code ?? 'CONVEYOR_CELERY_MALFORMED',
      },
      deliveryCount: message.fields.redelivered ? 2 : 1,
    })
    settings.publisher
      .publishJson(deadQueueOf(settings.queue), entry)
      .then(() => settings.channel.ack(message))
      .catch((failure: unknown) => settings.onError(failure, 'could not dead-letter a message; it stays unacked'))
  }
}
