import { DeliverySettledError } from '@conveyor/core'
import type { Channel, ConsumeMessage } from 'amqplib'

interface Waiter {
  readonly resolve: () => void
  readonly reject: (error: Error) => void
}

/**
 * The acks of one consumer channel: coalesced, and confirmed.
 *
 * Coalesced: acks asked for while one burst of deliveries is handled are written together once the burst's
 * callbacks and promise continuations have run (a `process.nextTick` queued from a continuation runs only after
 * the microtask queue drained) and before amqplib's next socket write (`setImmediate`). The longest run of settled
 * delivery tags at the front of the channel's outstanding ones goes as a single `basic.ack` with `multiple`, the rest
 * one by one. RabbitMQ then parses and routes one frame per burst instead of one per message, which is most of what
 * a consumer costs the server (measured: about half the server CPU per message at prefetch 50).
 *
 * Confirmed: an ack has no reply in AMQP, so each flush is followed by a cheap synchronous method (re-setting the
 * same per-consumer prefetch) whose reply proves the server processed every frame before it. At most one such round
 * trip is under way; acks flushed meanwhile share the next one. With `confirmAcks: false` the ack of a handler's
 * success (`ackOutcome`) resolves once its frame is handed to amqplib instead, as raw amqplib's does; the acks that
 * end a move (retry, dead-letter, release: publish, then ack) and `confirmed()` (graceful close) stay confirmed.
 */
export class ChannelAcks {
  /** Delivery tags handed to us and not yet acked or rejected on the wire, ascending (tags grow per channel). */
  private outstanding: number[] = []
  /** Tags acked by the caller, not written yet. */
  private readonly pending = new Set<number>()
  /** Confirmations asked for before the next flush. */
  private queued: Waiter[] = []
  /** Unconfirmed acks (`confirmAcks: false`) waiting for the next flush to write them. */
  private unwritten: Waiter[] = []
  /** Confirmations whose acks are written, waiting for the next barrier. */
  private written: Waiter[] = []
  private barrierInFlight = false
  private scheduled = false
  /** One object shape for amqplib's ack argument (it only reads `fields.deliveryTag`). */
  private readonly tagHolder = { fields: { deliveryTag: 0 } }

  constructor(
    private readonly channel: Channel,
    private readonly prefetch: number,
    private readonly isClosed: () => boolean,
    /** false: `ack()` resolves once written, without the barrier round trip (the `confirmAcks` option). */
    private readonly confirmAcks = true,
  ) {}

  /** A delivery arrived: it stays outstanding until acked or rejected. */
  track(message: ConsumeMessage): void {
    this.outstanding.push(message.fields.deliveryTag)
  }

  /** Ack `message` (with the next flush) and resolve once the server has processed the ack. */
  ack(message: ConsumeMessage): Promise<void> {
    this.pending.add(message.fields.deliveryTag)
    return this.confirmed()
  }

  /** The ack of a handler's success: as `ack`, or with `confirmAcks: false` resolved once written. */
  ackOutcome(message: ConsumeMessage): Promise<void> {
    if (this.confirmAcks) return this.ack(message)
    this.pending.add(message.fields.deliveryTag)
    const promise = new Promise<void>((resolve, reject) => {
      this.unwritten.push({ resolve, reject })
    })
    this.schedule()
    return promise
  }

  /** Resolve once the server has processed every ack asked for so far (closing a channel after it loses none). */
  confirmed(): Promise<void> {
    const promise = new Promise<void>((resolve, reject) => {
      this.queued.push({ resolve, reject })
    })
    this.schedule()
    return promise
  }

  /** Reject (give back to the queue when `requeue`) now, after writing the acks asked for before it. */
  nack(message: ConsumeMessage, requeue: boolean): void {
    this.flush()
    const tag = message.fields.deliveryTag
    this.remove(tag)
    this.channel.nack(message, false, requeue)
  }

  /** Write what is pending now, e.g. before closing the channel. */
  flush(): void {
    this.scheduled = false
    if (this.isClosed()) {
      this.failAll(
        new DeliverySettledError(
          '[rabbitmq] the channel closed before the ack was written; RabbitMQ requeued the message (it may run twice)',
        ),
      )
      return
    }
    if (this.pending.size > 0) {
      try {
        this.writeAcks()
      } catch (error) {
        // amqplib throws synchronously on a channel that is closing: RabbitMQ requeues what was not acked.
        this.failAll(new DeliverySettledError(`[rabbitmq] ack failed: ${(error as Error).message}`, { cause: error }))
        return
      }
    }
    if (this.unwritten.length > 0) {
      const written = this.unwritten
      this.unwritten = []
      for (const waiter of written) waiter.resolve()
    }
    if (this.queued.length > 0) {
      for (const waiter of this.queued) this.written.push(waiter)
      this.queued = []
    }
    if (!this.barrierInFlight && this.written.length > 0) this.sendBarrier()
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    process.nextTick(() => {
      if (this.scheduled) this.flush()
    })
  }

  private writeAcks(): void {
    const { outstanding, pending } = this
    let run = 0
    while (run < outstanding.length && pending.has(outstanding[run]!)) run++
    if (run > 0) {
      // Every outstanding tag up to and including the last of the run is settled by us: one frame for all of them.
      this.sendAck(outstanding[run - 1]!, run > 1)
      for (let i = 0; i < run; i++) pending.delete(outstanding[i]!)
      outstanding.splice(0, run)
    }
    if (pending.size === 0) return
    // Behind a delivery still held: one by one (a `multiple` ack would settle the held one too).
    for (const tag of pending) this.sendAck(tag, false)
    this.outstanding = outstanding.filter((tag) => !pending.has(tag))
    pending.clear()
  }

  private sendAck(tag: number, multiple: boolean): void {
    this.tagHolder.fields.deliveryTag = tag
    this.channel.ack(this.tagHolder as ConsumeMessage, multiple)
  }

  private remove(tag: number): void {
    const at = this.outstanding.indexOf(tag)
    if (at >= 0) this.outstanding.splice(at, 1)
    this.pending.delete(tag)
  }

  private sendBarrier(): void {
    const batch = this.written
    this.written = []
    this.barrierInFlight = true
    this.channel.prefetch(this.prefetch, false).then(
      () => {
        this.barrierInFlight = false
        for (const waiter of batch) waiter.resolve()
        if (this.written.length > 0) this.sendBarrier()
      },
      (error: unknown) => {
        this.barrierInFlight = false
        const failure = new DeliverySettledError(
          '[rabbitmq] the channel closed before the ack was confirmed; the message may run again',
          { cause: error },
        )
        for (const waiter of batch) waiter.reject(failure)
        this.failAll(failure)
      },
    )
  }

  private failAll(error: Error): void {
    const waiting = [...this.written, ...this.queued, ...this.unwritten]
    this.written = []
    this.queued = []
    this.unwritten = []
    this.pending.clear()
    for (const waiter of waiting) waiter.reject(error)
  }
}
