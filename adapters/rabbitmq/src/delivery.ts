import {
  type DeadLetterReason,
  type Delivery,
  DeliverySettledError,
  type Envelope,
  type ErrorInfo,
  encodeEnvelope,
} from '@conveyor/core'
import type { Channel, ConsumeMessage } from 'amqplib'
import type { ChannelAcks } from './acks'

/** One consumer channel; deliveries remember which one they came on, since only it can ack them. */
export interface ChannelSlot {
  readonly channel: Channel
  readonly acks: ChannelAcks
  closed: boolean
}

/** What a delivery needs from its consumer. */
export interface DeliveryOwner {
  readonly queue: string
  /** Throws `NotConnectedError` after `destroy()`. */
  assertAlive(): void
  /** Send bytes to the queue (or its delay queue), confirmed. */
  send(body: Buffer, meta: { priority: number; id: string; carried: number }, notBefore?: number): Promise<void>
  sendDead(
    body: Buffer,
    reason: DeadLetterReason,
    envelope: Envelope,
    deliveryCount: number,
    error?: ErrorInfo,
  ): Promise<void>
  /** The delivery is settled (or lost): stop counting it as held. */
  forget(delivery: AmqpDelivery): void
}

/**
 * A message handed to a handler. Every outcome other than `ack` publishes first (confirmed) and acks the original
 * after, so a crash in between leaves a duplicate, never a loss. Settling twice, or after the channel that delivered
 * the message closed (RabbitMQ requeued it), rejects with `DeliverySettledError`.
 */
export class AmqpDelivery implements Delivery {
  private settled = false

  constructor(
    private readonly owner: DeliveryOwner,
    readonly slot: ChannelSlot,
    private readonly message: ConsumeMessage,
    readonly envelope: Envelope,
    readonly deliveryCount: number,
  ) {}

  async ack(): Promise<void> {
    this.take()
    await this.ackNow()
  }

  async retry(delayMs: number): Promise<void> {
    this.take()
    const next: Envelope = {
      ...this.envelope,
      attempt: this.envelope.attempt + 1,
      notBefore: Date.now() + Math.max(0, delayMs),
    }
    await this.publishThenAck(() =>
      this.owner.send(
        Buffer.from(encodeEnvelope(next), 'utf8'),
        { priority: next.priority, id: next.id, carried: 0 },
        next.notBefore,
      ),
    )
  }

  async deadLetter(reason: DeadLetterReason, error?: ErrorInfo): Promise<void> {
    this.take()
    const body = Buffer.from(encodeEnvelope(this.envelope), 'utf8')
    await this.publishThenAck(() => this.owner.sendDead(body, reason, this.envelope, this.deliveryCount, error))
  }

  /**
   * Republish the same bytes with the delivery count it had before this delivery, then ack: a graceful give-back
   * is not counted against `maxDeliveries`. It goes to the back of its priority (AMQP cannot put it back in front
   * without marking it redelivered, which the classic-queue count emulation would count).
   */
  async release(): Promise<void> {
    this.take()
    const { priority, id } = this.envelope
    await this.publishThenAck(() =>
      this.owner.send(this.message.content, { priority, id, carried: this.deliveryCount - 1 }),
    )
  }

  private async publishThenAck(publish: () => Promise<void>): Promise<void> {
    try {
      await publish()
    } catch (error) {
      // Nothing was settled: the caller may try again (or the channel close returns the message).
      this.settled = false
      throw error
    }
    await this.ackNow()
  }

  private take(): void {
    this.owner.assertAlive()
    if (this.settled) throw new DeliverySettledError('[rabbitmq] the delivery was already settled')
    if (this.slot.closed) {
      throw new DeliverySettledError('[rabbitmq] the channel that delivered this message closed; RabbitMQ requeued it')
    }
    this.settled = true
  }

  /** Ack (written with the channel's next flush) and resolve once the server processed it. */
  private ackNow(): Promise<void> {
    try {
      if (this.slot.closed) {
        return Promise.reject(
          new DeliverySettledError(
            '[rabbitmq] the channel closed before the ack; RabbitMQ requeued the message (it may run twice)',
          ),
        )
      }
      return this.slot.acks.ack(this.message)
    } finally {
      // After the ack is queued: forgetting may close an idle cancelled consumer's channel, which flushes it first.
      this.owner.forget(this)
    }
  }
}
