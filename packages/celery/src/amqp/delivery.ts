import { DeliverySettledError } from '@conveyor/core'
import type { DeadLetterReason, Delivery, Envelope, ErrorInfo } from '@conveyor/core/adapter'
import type { Channel, ConsumeMessage } from 'amqplib'
import { deadLetterEntry } from '../dead-letter-entry'
import { envelopeToCelery } from '../protocol/message'
import { amqpPublishOptions } from './amqp-message'
import { deadQueueOf } from './options'
import type { ConfirmPublisher } from './publisher'

/**
 * A Celery message delivered over AMQP. Settlements that publish (retry, dead letter) publish first, with a
 * confirm, and ack second: a crash in between gives a duplicate, never a loss.
 */
export class AmqpCeleryDelivery implements Delivery {
  private settled = false

  constructor(
    private readonly channel: Channel,
    private readonly publisher: ConfirmPublisher,
    readonly message: ConsumeMessage,
    readonly envelope: Envelope,
    readonly deliveryCount: number,
    private readonly onSettled: (delivery: AmqpCeleryDelivery) => void,
  ) {}

  ack(): Promise<void> {
    return this.settle(async () => this.channel.ack(this.message))
  }

  /** Celery's retry: the same task id published again with `retries + 1` and an `eta`; then the original is acked. */
  retry(delayMs: number): Promise<void> {
    return this.settle(async () => {
      const next: Envelope = { ...this.envelope, attempt: this.envelope.attempt + 1, notBefore: Date.now() + delayMs }
      const celery = envelopeToCelery(next, next.priority)
      const content = Buffer.from(celery.body, 'utf8')
      await this.publisher.publish('', next.queue, content, amqpPublishOptions(celery, next.expiresAt))
      this.channel.ack(this.message)
    })
  }

  deadLetter(reason: DeadLetterReason, error?: ErrorInfo): Promise<void> {
    return this.settle(async () => {
      const entry = deadLetterEntry({
        queue: this.envelope.queue,
        raw: this.message.content.toString('utf8'),
        envelope: this.envelope,
        reason,
        ...(error !== undefined ? { error } : {}),
        deliveryCount: this.deliveryCount,
      })
      await this.publisher.publishJson(deadQueueOf(this.envelope.queue), entry)
      this.channel.ack(this.message)
    })
  }

  release(): Promise<void> {
    // amqplib's nack(message, allUpTo, requeue): this message only, back to its queue.
    const allUpTo = false
    const requeue = true
    return this.settle(async () => this.channel.nack(this.message, allUpTo, requeue))
  }

  private async settle(action: () => Promise<void>): Promise<void> {
    if (this.settled) throw new DeliverySettledError(`[celery] delivery of task ${this.envelope.id} already settled`)
    this.settled = true
    try {
      await action()
    } catch (error) {
      throw new DeliverySettledError(`[celery] could not settle task ${this.envelope.id}: the channel is gone`, {
        cause: error,
      })
    } finally {
      this.onSettled(this)
    }
  }
}
