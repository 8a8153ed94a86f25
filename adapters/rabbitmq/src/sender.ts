import { type Envelope, encodeEnvelope, PayloadTooLargeError } from '@conveyor/core'
import { DEAD_HEADER, DELIVERIES_HEADER, type DeadRecord, encodeDeadRecord } from './headers'
import { pickLevel } from './names'
import { amqpPriority, type ResolvedOptions } from './options'
import type { MessageProperties, Publisher } from './publisher'
import type { Topology } from './topology'

/** Where a message goes and how: the routing decisions shared by publish, retry, release and dead-lettering. */
export class Sender {
  constructor(
    private readonly topology: Topology,
    private readonly publisher: Publisher,
    private readonly options: ResolvedOptions,
  ) {}

  /** Encode and send an envelope to its queue (or the delay queue its `notBefore` calls for). */
  envelope(envelope: Envelope, carried = 0): Promise<void> {
    const body = Buffer.from(encodeEnvelope(envelope), 'utf8') // throws SerializationError for the caller
    return this.body(
      envelope.queue,
      body,
      { priority: envelope.priority, id: envelope.id, carried },
      envelope.notBefore,
    )
  }

  /**
   * Send bytes to `queue`: straight to the work queue when due, else parked in the largest delay level not longer
   * than the remaining delay (a remainder shorter than the smallest level goes to the work queue, where the
   * consumer holds it until due). `meta.priority` is the envelope's 0–9; it is mapped to the queue's AMQP priority
   * here, and only here.
   */
  body(
    queue: string,
    body: Buffer,
    meta: { readonly priority: number; readonly id?: string; readonly carried: number },
    notBefore?: number,
  ): Promise<void> {
    if (body.length > this.options.maxMessageBytes) return Promise.reject(this.tooLarge(queue, body))
    // Skip the await on the (settled) declaration when the queue is known to exist: this is the publish hot path.
    if (!this.topology.isReady(queue)) {
      return this.topology.ensure(queue).then(() => this.bodyNow(queue, body, meta, notBefore))
    }
    return this.bodyNow(queue, body, meta, notBefore)
  }

  private bodyNow(
    queue: string,
    body: Buffer,
    meta: { readonly priority: number; readonly id?: string; readonly carried: number },
    notBefore?: number,
  ): Promise<void> {
    const names = this.topology.names(queue)
    const level = notBefore === undefined ? undefined : pickLevel(names.delays, notBefore - Date.now())
    const properties: MessageProperties = {
      // Bands are a classic-queue matter; quorum queues get the envelope's priority as it is.
      priority:
        this.topology.typeOf(queue) === 'quorum'
          ? meta.priority
          : amqpPriority(meta.priority, this.options.priorityLevels),
      messageId: meta.id || undefined,
      headers: meta.carried > 0 ? { [DELIVERIES_HEADER]: meta.carried } : undefined,
    }
    return this.sendOrRedeclare(queue, level?.name ?? names.work, body, properties)
  }

  /** Put a message on `<queue>.dead` with its record in a header; the body stays the original bytes. */
  async dead(queue: string, body: Buffer, record: DeadRecord): Promise<void> {
    await this.topology.ensure(queue)
    await this.sendOrRedeclare(queue, this.topology.names(queue).dead, body, {
      priority: 0,
      messageId: record.id,
      headers: { [DEAD_HEADER]: encodeDeadRecord(record) },
    })
  }

  private sendOrRedeclare(queue: string, target: string, body: Buffer, properties: MessageProperties): Promise<void> {
    return this.publisher.publish(target, body, properties).catch((error: unknown) => {
      // Returned as unroutable: the queue was deleted behind our back. Declare it again next time.
      if ((error as { code?: string }).code === 'CONVEYOR_UNROUTABLE') this.topology.invalidate(queue)
      throw error
    })
  }

  private tooLarge(queue: string, body: Buffer): PayloadTooLargeError {
    return new PayloadTooLargeError(
      `[rabbitmq] message of ${body.length} bytes for "${queue}" exceeds maxMessageBytes ` +
        `(${this.options.maxMessageBytes}, RabbitMQ's max_message_size)`,
    )
  }
}
