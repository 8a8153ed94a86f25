import {
  type DeadLetterReason,
  type DeliveryHandler,
  decodeEnvelope,
  type Envelope,
  type ErrorInfo,
  newTaskId,
  type Subscription,
  sleep,
  toErrorInfo,
} from '@conveyor/core/adapter'
import type { ConsumeMessage } from 'amqplib'
import { ChannelAcks } from './acks'
import type { Connection } from './connection'
import { AmqpDelivery, type ChannelSlot, type DeliveryOwner } from './delivery'
import { DELIVERIES_HEADER, numberHeader, traceFromHeaders } from './headers'
import { pickLevel } from './names'
import type { ResolvedOptions } from './options'
import type { Sender } from './sender'
import type { Topology } from './topology'

/** Pause before giving back a message whose move (recount, re-park, dead-letter) failed. */
const CHORE_RETRY_PAUSE_MS = 500

/** Longest raw body kept in a malformed dead letter's listing. */
export const MAX_RAW_KEPT = 64 * 1024

/** What consumers share with the broker. */
export interface ConsumerContext {
  readonly options: ResolvedOptions
  readonly connection: Connection
  readonly topology: Topology
  readonly sender: Sender
  /** Throws `NotConnectedError` once the broker was destroyed. */
  readonly assertAlive: () => void
  /** Whether a lost channel should be reopened (the broker is neither closing nor closed). */
  readonly running: () => boolean
}

/**
 * One subscription on its own channel with a per-consumer prefetch (never global QoS, which quorum queues refuse).
 * When the channel closes — a lost connection, or the server closing it — the consumer opens a new one and consumes
 * again; the deliveries of the dead channel are requeued by RabbitMQ and can no longer be settled here.
 */
export class Consumer implements Subscription, DeliveryOwner {
  private slot: ChannelSlot | undefined
  private consumerTag: string | undefined
  private cancelled = false
  private reopening = false
  /** Handed to the handler, not settled. */
  readonly unsettled = new Set<AmqpDelivery>()
  /** Received before their `notBefore`, held until due (remainders shorter than the smallest delay level). */
  private readonly parked = new Map<ConsumeMessage, { slot: ChannelSlot; timer: NodeJS.Timeout; carried: number }>()
  /** Redelivery recounts, re-parks and internal dead-letters under way. */
  private readonly chores = new Set<Promise<void>>()
  /** Chores by envelope id: a copy that arrives before its original's ack landed waits for it. */
  private readonly choresById = new Map<string, Promise<void>>()

  constructor(
    private readonly ctx: ConsumerContext,
    readonly queue: string,
    private readonly handler: DeliveryHandler,
    private readonly prefetch: number,
    /** Called once a cancelled consumer holds nothing more and its channel is closed. */
    private readonly onRetired: () => void = () => {},
  ) {}

  async start(): Promise<void> {
    await this.open()
  }

  /** Stop receiving; handed-out deliveries stay settleable. Parked early messages go back to the queue. */
  async cancel(): Promise<void> {
    if (this.cancelled) return
    this.cancelled = true
    const slot = this.slot
    if (slot && !slot.closed && this.consumerTag !== undefined) {
      await slot.channel.cancel(this.consumerTag).catch(() => {})
    }
    await this.releaseParked()
    this.closeIfIdle()
  }

  /** Wait for chores, then close the channel (RabbitMQ requeues whatever is still unacked). */
  async shutdown(): Promise<void> {
    this.cancelled = true
    await Promise.allSettled([...this.chores])
    const slot = this.slot
    this.slot = undefined
    if (slot && !slot.closed) {
      // After the last acks are confirmed: closing first drops the barrier's reply and fails acks that landed.
      await slot.acks.confirmed(true).catch(() => {})
      await slot.channel.close().catch(() => {})
    }
  }

  /** After `destroy()`: forget everything without talking to the server. */
  abandon(): void {
    this.cancelled = true
    for (const { timer } of this.parked.values()) clearTimeout(timer)
    this.parked.clear()
  }

  assertAlive(): void {
    this.ctx.assertAlive()
  }

  forget(delivery: AmqpDelivery): void {
    this.unsettled.delete(delivery)
    if (this.cancelled) this.closeIfIdle()
  }

  send(body: Buffer, meta: { priority: number; id: string; carried: number }, notBefore?: number): Promise<void> {
    return this.ctx.sender.body(this.queue, body, meta, notBefore)
  }

  sendDead(
    body: Buffer,
    reason: DeadLetterReason,
    envelope: Envelope | undefined,
    deliveryCount: number,
    error?: ErrorInfo,
  ): Promise<void> {
    const now = Date.now()
    return this.ctx.sender.dead(this.queue, body, {
      id: envelope?.id ?? newTaskId(),
      queue: this.queue,
      reason,
      ...(error ? { error } : {}),
      attempts: envelope?.attempt ?? 0,
      deliveryCount,
      createdAt: envelope?.createdAt ?? now,
      deadAt: now,
    })
  }

  private async open(): Promise<void> {
    const deadline = Date.now() + this.ctx.options.publishTimeoutMs
    await this.ctx.topology.ensure(this.queue)
    const channel = await this.ctx.connection.channel(deadline)
    const slot: ChannelSlot = {
      channel,
      acks: new ChannelAcks(channel, this.prefetch, () => slot.closed, this.ctx.options.confirmAcks),
      closed: false,
    }
    channel.on('error', (error: Error) =>
      this.ctx.options.logger.warn({ err: error, queue: this.queue }, '[conveyor] [rabbitmq] consumer channel error'),
    )
    channel.on('close', () => this.onClose(slot))
    try {
      // cancel() ran while this open waited (a reopen during a reconnect) and found nothing to cancel on the server.
      if (this.cancelled) return await this.discard(slot)
      await channel.prefetch(this.prefetch, false)
      const work = this.ctx.topology.names(this.queue).work
      const { consumerTag } = await channel.consume(work, (message) => this.onMessage(slot, message), { noAck: false })
      // Kept, this consumer would take messages no handler sees (a cancelled consumer sends each one back at once).
      if (this.cancelled) return await this.discard(slot)
      this.slot = slot
      this.consumerTag = consumerTag
    } catch (error) {
      await channel.close().catch(() => {})
      throw error
    }
  }

  /** Close a channel opened after cancel(): what it received goes back to the queue with it, untouched here. */
  private async discard(slot: ChannelSlot): Promise<void> {
    slot.closed = true
    await slot.channel.close().catch(() => {})
  }

  private onClose(slot: ChannelSlot): void {
    slot.closed = true
    for (const delivery of this.unsettled) if (delivery.slot === slot) this.unsettled.delete(delivery)
    for (const [message, parked] of this.parked) {
      if (parked.slot !== slot) continue
      clearTimeout(parked.timer)
      this.parked.delete(message)
    }
    if (this.slot === slot) this.slot = undefined
    if (!this.cancelled && this.ctx.running()) void this.reopen()
  }

  private async reopen(): Promise<void> {
    if (this.reopening) return
    this.reopening = true
    try {
      for (let attempt = 0; !this.cancelled && this.ctx.running() && this.slot === undefined; attempt++) {
        try {
          await this.open()
          if (!this.cancelled)
            this.ctx.options.logger.debug({ queue: this.queue }, '[conveyor] [rabbitmq] consumer resumed')
        } catch (error) {
          if (this.cancelled || !this.ctx.connection.usable) return
          this.ctx.options.logger.warn(
            { err: error, queue: this.queue },
            '[conveyor] [rabbitmq] resuming consumer failed',
          )
          await sleep(Math.min(5_000, 100 * 2 ** attempt))
        }
      }
    } finally {
      this.reopening = false
    }
  }

  private onMessage(slot: ChannelSlot, message: ConsumeMessage | null): void {
    // A discarded channel: RabbitMQ requeues what it sent when it closes; settling or republishing would duplicate it.
    if (slot.closed) return
    if (message === null) {
      // The server cancelled the consumer (queue deleted): declare it again and consume on a new channel.
      this.ctx.topology.invalidate(this.queue)
      void slot.channel.close().catch(() => {})
      return
    }
    slot.acks.track(message)
    const headers = message.properties.headers
    const carried = numberHeader(headers, DELIVERIES_HEADER)
    const quorum = this.ctx.topology.typeOf(this.queue) === 'quorum'
    if (this.cancelled) {
      // Sent before the server saw our cancel: give it back, uncounted.
      const previous = carried + (quorum ? numberHeader(headers, 'x-delivery-count') : 0)
      const priority = envelopePriority(message.content)
      this.chore(slot, message, () => this.send(message.content, { priority, id: '', carried: previous }))
      return
    }
    let envelope: Envelope
    try {
      envelope = decodeEnvelope(message.content.toString('utf8'))
    } catch (error) {
      const deliveries = carried + 1
      this.chore(slot, message, () =>
        this.sendDead(message.content, 'malformed', undefined, deliveries, toErrorInfo(error)),
      )
      return
    }
    if (envelope.queue !== this.queue) envelope = { ...envelope, queue: this.queue }
    // A producer that put its trace context only in AMQP headers (another OpenTelemetry-instrumented client).
    if (envelope.trace === undefined && headers?.traceparent !== undefined) {
      const trace = traceFromHeaders(headers)
      if (trace !== undefined) envelope = { ...envelope, trace }
    }
    const pending = this.choresById.get(envelope.id)
    if (pending !== undefined) {
      // Our own republished copy overtook the ack of its original: handle it once that ack has landed, so a crash
      // right after cannot leave both the original and the copy counted wrong.
      const decoded = envelope
      void pending.then(() => {
        if (!slot.closed) this.afterDecode(slot, message, decoded, carried, quorum)
      })
      return
    }
    this.afterDecode(slot, message, envelope, carried, quorum)
  }

  private afterDecode(
    slot: ChannelSlot,
    message: ConsumeMessage,
    envelope: Envelope,
    carried: number,
    quorum: boolean,
  ) {
    const headers = message.properties.headers
    if (!quorum && message.fields.redelivered) {
      // Classic queues do not count deliveries: persist the count by republishing with it incremented.
      const meta = { priority: envelope.priority, id: envelope.id, carried: carried + 1 }
      this.chore(slot, message, () => this.send(message.content, meta, envelope.notBefore), envelope.id)
      return
    }
    const deliveryCount = carried + (quorum ? numberHeader(headers, 'x-delivery-count') : 0) + 1
    this.whenDue(slot, message, envelope, deliveryCount)
  }

  /** Hand the message out once due; a message is never delivered before its `notBefore`. */
  private whenDue(slot: ChannelSlot, message: ConsumeMessage, envelope: Envelope, deliveryCount: number): void {
    const remaining = (envelope.notBefore ?? 0) - Date.now()
    if (remaining > 0) {
      const meta = { priority: envelope.priority, id: envelope.id, carried: deliveryCount - 1 }
      if (pickLevel(this.ctx.topology.names(this.queue).delays, remaining) !== undefined) {
        this.chore(slot, message, () => this.send(message.content, meta, envelope.notBefore), envelope.id)
        return
      }
      // +1: timers may fire a hair early relative to Date.now().
      const timer = setTimeout(() => {
        this.parked.delete(message)
        if (!slot.closed) this.whenDue(slot, message, envelope, deliveryCount)
      }, remaining + 1)
      this.parked.set(message, { slot, timer, carried: deliveryCount - 1 })
      return
    }
    const { maxDeliveries } = this.ctx.options
    if (maxDeliveries !== undefined && deliveryCount > maxDeliveries) {
      this.chore(slot, message, () => this.sendDead(message.content, 'max-deliveries', envelope, deliveryCount))
      return
    }
    const delivery = new AmqpDelivery(this, slot, message, envelope, deliveryCount)
    this.unsettled.add(delivery)
    try {
      this.handler(delivery)
    } catch {
      // A throwing handler must not stop the consumer; the delivery stays held until settled or the channel closes.
    }
  }

  /** Publish something in place of `message` (confirmed), then ack it; on failure give it back to the queue. */
  private chore(slot: ChannelSlot, message: ConsumeMessage, publish: () => Promise<void>, id?: string): void {
    const run = publish().then(
      async () => {
        if (slot.closed) return
        await slot.acks.ack(message)
      },
      async (error: unknown) => {
        this.ctx.options.logger.warn(
          { err: error, queue: this.queue },
          '[conveyor] [rabbitmq] could not move a message; giving it back to the queue',
        )
        // Give it back (it comes again marked redelivered) after a pause, so a publish that keeps failing does not
        // spin; if the channel is gone RabbitMQ already requeued it.
        await sleep(CHORE_RETRY_PAUSE_MS)
        if (!slot.closed) slot.acks.nack(message, true)
      },
    )
    const tracked = run.catch(() => {})
    this.chores.add(tracked)
    if (id !== undefined) this.choresById.set(id, tracked)
    void tracked.finally(() => {
      this.chores.delete(tracked)
      if (id !== undefined && this.choresById.get(id) === tracked) this.choresById.delete(id)
    })
  }

  private async releaseParked(): Promise<void> {
    for (const [message, { slot, timer, carried }] of this.parked) {
      clearTimeout(timer)
      this.parked.delete(message)
      const envelope = decodeEnvelope(message.content.toString('utf8'))
      const meta = { priority: envelope.priority, id: envelope.id, carried }
      this.chore(slot, message, () => this.send(message.content, meta, envelope.notBefore))
    }
    await Promise.allSettled([...this.chores])
  }

  private closeIfIdle(): void {
    if (this.unsettled.size > 0 || this.chores.size > 0) return
    this.onRetired()
    const slot = this.slot
    this.slot = undefined
    // After the last acks are confirmed: closing first would cut them off.
    if (slot && !slot.closed) {
      void slot.acks
        .confirmed(true)
        .catch(() => {})
        .then(() => slot.channel.close())
        .catch(() => {})
    }
  }
}

/** The envelope's own priority (0–9) of a message sent back undecoded; the AMQP property may be a mapped band. */
function envelopePriority(content: Buffer): number {
  try {
    return decodeEnvelope(content.toString('utf8')).priority
  } catch {
    return 0
  }
}
