import { DeliverySettledError } from '@conveyor/core'
import {
  type DeadLetterReason,
  type Delivery,
  type Envelope,
  type ErrorInfo,
  encodeEnvelope,
} from '@conveyor/core/adapter'
import type { Channel, ConsumeMessage } from 'amqplib'
import type { ChannelAcks } from './acks'

/** Pause before a delivery whose move failed goes back to its queue, so a move that keeps failing does not spin. */
const GIVE_BACK_PAUSE_MS = 500

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
    await this.ackNow('outcome')
  }

  async retry(delayMs: number): Promise<void> {
    this.take()
    const next: Envelope = {
      ...this.envelope,
      attempt: this.envelope.attempt + 1,
      notBefore: Date.now() + Math.max(0, delayMs),
    }
    await this.moveThenAck(() =>
      this.owner.send(
        Buffer.from(encodeEnvelope(next), 'utf8'),
        { priority: next.priority, id: next.id, carried: 0 },
        next.notBefore,
      ),
    )
  }

  /** The dead letter's body is the message's bytes as delivered: nothing is encoded again, so nothing can fail to. */
  async deadLetter(reason: DeadLetterReason, error?: ErrorInfo): Promise<void> {
    this.take()
    const { content } = this.message
    await this.moveThenAck(() => this.owner.sendDead(content, reason, this.envelope, this.deliveryCount, error))
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

  /**
   * `publishThenAck` for the moves that end a delivery (retry, dead-letter). When the move fails the message is not
   * left held (it would keep its prefetch slot until the channel closed): it goes back to the queue after a pause, so
   * it is delivered again, counted, and dead-lettered by `maxDeliveries` if it keeps failing.
   */
  private async moveThenAck(publish: () => Promise<void>): Promise<void> {
    try {
      await publish()
    } catch (error) {
      this.giveBackLater()
      throw error
    }
    await this.ackNow('move')
  }

  private giveBackLater(): void {
    const { slot, message } = this
    const timer = setTimeout(() => {
      try {
        if (!slot.closed) slot.acks.nack(message, true)
      } catch {
        // The channel is closing: RabbitMQ requeues the message itself.
      }
      this.owner.forget(this)
    }, GIVE_BACK_PAUSE_MS)
    // Nothing to wait for at exit: a closing channel gives the message back too.
    timer.unref()
  }

  private async publishThenAck(publish: () => Promise<void>): Promise<void> {
    try {
      await publish()
    } catch (error) {
      // Nothing was settled: the caller may try again (or the channel close returns the message).
      this.settled = false
      throw error
    }
    await this.ackNow('move')
  }

  private take(): void {
    this.owner.assertAlive()
    if (this.settled) throw new DeliverySettledError('[rabbitmq] the delivery was already settled')
    if (this.slot.closed) {
      throw new DeliverySettledError('[rabbitmq] the channel that delivered this message closed; RabbitMQ requeued it')
    }
    this.settled = true
  }

  /**
   * Ack (written with the channel's next flush) and resolve once the server processed it. A handler's `outcome` ack
   * resolves once written instead under `confirmAcks: false`; the ack ending a `move` is always confirmed, so a
   * crash right after a retry or dead-letter resolved cannot leave both the copy and the original.
   */
  private ackNow(kind: 'outcome' | 'move'): Promise<void> {
    try {
      if (this.slot.closed) {
        return Promise.reject(
          new DeliverySettledError(
            '[rabbitmq] the channel closed before the ack; RabbitMQ requeued the message (it may run twice)',
          ),
        )
      }
      return kind === 'outcome' ? this.slot.acks.ackOutcome(this.message) : this.slot.acks.ack(this.message)
    } finally {
      // After the ack is queued: forgetting may close an idle cancelled consumer's channel, which flushes it first.
      this.owner.forget(this)
    }
  }
}
