import { DeliverySettledError } from '@conveyor/core'
import type { Channel, ConsumeMessage } from 'amqplib'

interface Waiter {
  readonly resolve: () => void
  readonly reject: (error: Error) => void
}

/** The confirmations of one flush: they resolve once the server processed `upTo` settlements of this channel. */
interface Flushed {
  readonly upTo: number
  /** `epoch` when written: still unconfirmed one timer period later, it gets a barrier. */
  readonly epoch: number
  readonly waiters: Waiter[]
}

/**
 * How long written acks wait for a delivery to confirm them before a barrier is sent (they wait one to two periods).
 * Longer saves barriers when the server is slow to answer; shorter confirms the last acks of a backlog sooner.
 */
export const BARRIER_AFTER_MS = 2

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
 * Confirmed: an ack has no reply in AMQP. Two things prove the server processed it. (1) A delivery: the server sends
 * delivery tag D on this channel (tags count every delivery, from 1) only while fewer than `prefetch` of this
 * consumer's deliveries are unsettled, so it had processed at least D − prefetch settlements by then, and it
 * processes them in the order they were written. While a backlog drains, the next delivery confirms the acks before
 * it at no cost (at concurrency 1: every job's). (2) A barrier: a cheap synchronous method (re-setting the same
 * per-consumer prefetch) whose reply proves the server processed every frame before it. The barrier is sent only for
 * acks no delivery confirmed within `BARRIER_AFTER_MS` (the queue ran dry), or at once for `confirmed(true)`
 * (closing a channel); at most one is under way and acks flushed meanwhile share the next. With `confirmAcks: false`
 * the ack of a handler's success (`ackOutcome`) resolves once its frame is handed to amqplib instead, as raw
 * amqplib's does; the acks that end a move (retry, dead-letter, release: publish, then ack) and `confirmed()` stay
 * confirmed.
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
  /** Flushes whose acks are written and not yet confirmed, oldest first (`upTo` ascending). */
  private written: Flushed[] = []
  /** Settlements (acks, nacks; a `multiple` ack counts each tag) written on this channel. */
  private settledOnWire = 0
  /** Settlements the server is known to have processed. */
  private proven = 0
  private barrierInFlight = false
  /** A caller asked for the barrier at once (`confirmed(true)`). */
  private prompt = false
  private scheduled = false
  private timer: NodeJS.Timeout | undefined
  private epoch = 0
  /** One object shape for amqplib's ack argument (it only reads `fields.deliveryTag`). */
  private readonly tagHolder = { fields: { deliveryTag: 0 } }

  constructor(
    private readonly channel: Channel,
    private readonly prefetch: number,
    private readonly isClosed: () => boolean,
    /** false: `ack()` resolves once written, without the barrier round trip (the `confirmAcks` option). */
    private readonly confirmAcks = true,
  ) {}

  /** A delivery arrived: it stays outstanding until acked or rejected, and it proves settlements before it. */
  track(message: ConsumeMessage): void {
    const tag = message.fields.deliveryTag
    this.outstanding.push(tag)
    if (tag - this.prefetch > this.proven) this.prove(tag - this.prefetch)
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

  /**
   * Resolve once the server has processed every ack asked for so far; `prompt`: ask with a barrier at once instead of
   * waiting for a delivery to prove it (before closing a channel).
   */
  confirmed(prompt = false): Promise<void> {
    const promise = new Promise<void>((resolve, reject) => {
      this.queued.push({ resolve, reject })
    })
    if (prompt) this.prompt = true
    this.schedule()
    return promise
  }

  /** Reject (give back to the queue when `requeue`) now, after writing the acks asked for before it. */
  nack(message: ConsumeMessage, requeue: boolean): void {
    this.flush()
    const tag = message.fields.deliveryTag
    this.remove(tag)
    this.channel.nack(message, false, requeue)
    this.settledOnWire++
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
      const waiters = this.queued
      this.queued = []
      if (this.settledOnWire <= this.proven) {
        for (const waiter of waiters) waiter.resolve()
      } else this.written.push({ upTo: this.settledOnWire, epoch: this.epoch, waiters })
    }
    if (this.written.length === 0) return
    if (this.prompt && !this.barrierInFlight) {
      this.prompt = false
      this.sendBarrier()
    }
    this.armTimer()
  }

  /** The server processed `upTo` settlements: resolve the flushes they cover. */
  private prove(upTo: number): void {
    this.proven = upTo
    const { written } = this
    let done = 0
    while (done < written.length && written[done]!.upTo <= upTo) {
      for (const waiter of written[done]!.waiters) waiter.resolve()
      done++
    }
    if (done > 0) written.splice(0, done)
  }

  /** One timer per channel, re-armed while flushes wait: a flush unconfirmed for a whole period gets a barrier. */
  private armTimer(): void {
    if (this.timer !== undefined || this.barrierInFlight) return
    // A fresh period: what is written now is old by the time it fires.
    this.epoch++
    this.timer = setTimeout(() => this.onTimer(), BARRIER_AFTER_MS)
  }

  private onTimer(): void {
    this.timer = undefined
    const oldest = this.written[0]
    if (oldest === undefined) return
    if (this.isClosed()) {
      this.flush()
      return
    }
    // A barrier under way re-arms the timer when it returns, for what it did not cover.
    if (this.barrierInFlight) return
    if (oldest.epoch < this.epoch) this.sendBarrier()
    else this.armTimer()
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
      this.settledOnWire += run
      for (let i = 0; i < run; i++) pending.delete(outstanding[i]!)
      outstanding.splice(0, run)
    }
    if (pending.size === 0) return
    // Behind a delivery still held: one by one (a `multiple` ack would settle the held one too).
    for (const tag of pending) {
      this.sendAck(tag, false)
      this.settledOnWire++
    }
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
    const upTo = this.settledOnWire
    this.barrierInFlight = true
    this.channel.prefetch(this.prefetch, false).then(
      () => {
        this.barrierInFlight = false
        if (upTo > this.proven) this.prove(upTo)
        // Asked for at once while this one was under way: the acks written since need one of their own.
        if (this.written.length === 0) return
        if (this.prompt) {
          this.prompt = false
          this.sendBarrier()
        } else this.armTimer()
      },
      (error: unknown) => {
        this.barrierInFlight = false
        this.failAll(
          new DeliverySettledError(
            '[rabbitmq] the channel closed before the ack was confirmed; the message may run again',
            { cause: error },
          ),
        )
      },
    )
  }

  private failAll(error: Error): void {
    const waiting = [...this.written.flatMap((flushed) => flushed.waiters), ...this.queued, ...this.unwritten]
    this.written = []
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    this.queued = []
    this.unwritten = []
    this.pending.clear()
    for (const waiter of waiting) waiter.reject(error)
  }
}
