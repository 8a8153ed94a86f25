import { PayloadTooLargeError } from '@conveyor/core'
import { type Envelope, encodeEnvelope } from '@conveyor/core/adapter'
import { DEAD_HEADER, DELIVERIES_HEADER, type DeadRecord, encodeDeadRecord } from './headers'
import { pickLevel } from './names'
import { amqpPriority, type ResolvedOptions } from './options'
import type { MessageProperties, Outgoing, Publisher } from './publisher'
import type { Topology } from './topology'

/** What a message is sent with beside its body. */
export interface SendMeta {
  /** The envelope's 0–9 priority. */
  readonly priority: number
  readonly id?: string
  /** Deliveries of the current attempt carried over from the copy this one replaces (`DELIVERIES_HEADER`). */
  readonly carried: number
  /** The envelope's trace context (`traceparent`, `tracestate`), copied to AMQP headers for AMQP-level tools. */
  readonly trace?: Readonly<Record<string, string>> | undefined
}

/**
 * The AMQP headers: the carried delivery count, and the trace context so that tools reading AMQP headers (RabbitMQ's
 * tracing, other OpenTelemetry-instrumented consumers) see it; Conveyor's own consumers read it from the envelope.
 */
function headersOf(meta: SendMeta): Readonly<Record<string, string | number>> | undefined {
  if (meta.trace === undefined) return meta.carried > 0 ? { [DELIVERIES_HEADER]: meta.carried } : undefined
  return meta.carried > 0 ? { ...meta.trace, [DELIVERIES_HEADER]: meta.carried } : meta.trace
}

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
      { priority: envelope.priority, id: envelope.id, carried, trace: envelope.trace },
      envelope.notBefore,
    )
  }

  /**
   * Send bytes to `queue`: straight to the work queue when due, else parked in the largest delay level not longer
   * than the remaining delay (a remainder shorter than the smallest level goes to the work queue, where the
   * consumer holds it until due). `meta.priority` is the envelope's 0–9; it is mapped to the queue's AMQP priority
   * here, and only here.
   */
  body(queue: string, body: Buffer, meta: SendMeta, notBefore?: number): Promise<void> {
    if (body.length > this.options.maxMessageBytes) return Promise.reject(this.tooLarge(queue, body))
    // Skip the await on the (settled) declaration when the queue is known to exist: this is the publish hot path.
    if (!this.topology.isReady(queue)) {
      return this.topology.ensure(queue).then(() => this.bodyNow(queue, body, meta, notBefore))
    }
    return this.bodyNow(queue, body, meta, notBefore)
  }

  private bodyNow(queue: string, body: Buffer, meta: SendMeta, notBefore?: number): Promise<void> {
    const { target, properties } = this.route(queue, meta, notBefore)
    return this.sendOrRedeclare(queue, target, body, properties)
  }

  /**
   * Encode and send envelopes, confirmed together (`Broker.publishMany`): one promise and one confirm deadline for
   * the batch instead of one per message. Queues not declared yet are declared first; a message over the size limit
   * sends the batch the one-by-one way, which rejects for it alone.
   */
  envelopes(envelopes: readonly Envelope[], declared = false): Promise<void> {
    const items: Outgoing[] = []
    const undeclared = new Set<string>()
    for (const envelope of envelopes) {
      if (!this.topology.isReady(envelope.queue)) undeclared.add(envelope.queue)
    }
    if (undeclared.size > 0) {
      if (declared) return this.oneByOne(envelopes)
      return Promise.all([...undeclared].map((queue) => this.topology.ensure(queue))).then(() =>
        this.envelopes(envelopes, true),
      )
    }
    for (const envelope of envelopes) {
      const body = Buffer.from(encodeEnvelope(envelope), 'utf8') // throws SerializationError for the caller
      if (body.length > this.options.maxMessageBytes) return this.oneByOne(envelopes)
      const meta = { priority: envelope.priority, id: envelope.id, carried: 0, trace: envelope.trace }
      const { target, properties } = this.route(envelope.queue, meta, envelope.notBefore)
      items.push({ queue: target, content: body, properties })
    }
    return this.publisher.publishBatch(items).catch((error: unknown) => {
      if ((error as { code?: string }).code === 'CONVEYOR_UNROUTABLE') {
        for (const envelope of envelopes) this.topology.invalidate(envelope.queue)
      }
      throw error
    })
  }

  private async oneByOne(envelopes: readonly Envelope[]): Promise<void> {
    await Promise.all(envelopes.map((envelope) => this.envelope(envelope)))
  }

  /** Where a message for `queue` goes (work queue or delay level) and the AMQP properties it goes with. */
  private route(
    queue: string,
    meta: SendMeta,
    notBefore: number | undefined,
  ): { target: string; properties: MessageProperties } {
    const names = this.topology.names(queue)
    const now = Date.now()
    const level = notBefore === undefined ? undefined : pickLevel(names.delays, notBefore - now)
    const properties: MessageProperties = {
      // Bands are a classic-queue matter; quorum queues get the envelope's priority as it is.
      priority:
        this.topology.typeOf(queue) === 'quorum'
          ? meta.priority
          : amqpPriority(meta.priority, this.options.priorityLevels),
      messageId: meta.id || undefined,
      headers: headersOf(meta),
      // When it is ready to run (now, or when its delay ends): the management API's head age is read from it.
      timestamp: Math.floor(Math.max(now, notBefore ?? 0) / 1000),
    }
    return { target: level?.name ?? names.work, properties }
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
