import type { ConveyorEvent, EncodedEventBatch, EventStream } from '../contracts/event-stream'
import type { TaskHistory } from '../contracts/task-history'
import type { Logger } from '../logging/logger'
import { encodeEvent } from './encode-event'
import { EventBatchBuilder } from './event-batch-builder'

export interface EventPublisherOptions {
  /** Where events go; either may be absent. */
  readonly stream: EventStream | undefined
  readonly history: TaskHistory | undefined
  readonly logger: Logger
  /** How long an event may wait in the buffer before it is written. Defaults to 20 ms. */
  readonly flushIntervalMs?: number
  /**
   * Most events per write. Defaults to 500, and to 2,000 for a stream that stores batches (`publishBatch`: a pair row
   * is about 60 bytes, and each write costs the app a round trip's worth of client work whatever its size).
   */
  readonly maxBatch?: number
  /** Most events held while the store is slow or down; newer ones are dropped (and counted). Defaults to 20,000. */
  readonly maxBuffered?: number
  /** Longest a `barrier()` holds its caller. Defaults to 1 s. */
  readonly barrierTimeoutMs?: number
}

/** Counters of an app's event publishing (`app.events.stats()`). */
export interface EventPublishStats {
  /** Events written to the stream. */
  readonly published: number
  /** Events whose write failed (not retried: the stream is a log of what happened, best effort). */
  readonly failed: number
  /** Events dropped because the buffer was full (the store was slower than the events). */
  readonly dropped: number
  /** History writes that failed, in events. */
  readonly historyFailed: number
  /** Events waiting to be written, including those in a write that has not finished. */
  readonly buffered: number
}

/**
 * What one write takes: the events as objects and/or as JSON text, whichever the stream and history need, or as the
 * bytes of one batch (`encoded`) for a stream that stores batches.
 */
interface Batch {
  readonly events: ConveyorEvent[]
  readonly texts: string[]
  readonly encoded?: EncodedEventBatch
  readonly size: number
}

/**
 * Buffers an app's events and writes them in batches, one write at a time (so one process's events stay in order).
 * Never throws into the caller and never makes a task wait, except `barrier()` (bounded, skipped while the store is
 * failing), which the app uses where order across processes matters: before a message is handed to the broker.
 *
 * Each event is encoded once, when it is pushed. For a stream that stores batches (`publishBatch`) and no history, it
 * is written straight into the batch's bytes (`EventBatchBuilder`, which also folds a run's start and success into one
 * row); otherwise to its JSON text (`encodeEvent`), and only the text waits in the buffer when nothing needs the object
 * (a stream with `publishEncoded` and no history): the object dies young, which the garbage collector handles for
 * almost nothing, instead of living until the flush.
 */
export class EventPublisher {
  private events: ConveyorEvent[] = []
  private texts: string[] = []
  private size = 0
  /** Events handed to a write that has not finished: they count against `maxBuffered` too (a slow store). */
  private inWrite = 0
  private readonly keepObjects: boolean
  private readonly keepTexts: boolean
  private readonly builder: EventBatchBuilder | undefined
  private writing: Promise<void> = Promise.resolve()
  private timer: NodeJS.Timeout | undefined
  private failing = false
  private historyFailing = false
  private closed = false
  private counts = { published: 0, failed: 0, dropped: 0, historyFailed: 0 }
  private readonly flushIntervalMs: number
  private readonly maxBatch: number
  private readonly maxBuffered: number
  private readonly barrierTimeoutMs: number

  constructor(private readonly options: EventPublisherOptions) {
    this.flushIntervalMs = options.flushIntervalMs ?? 20
    this.maxBuffered = options.maxBuffered ?? 20_000
    this.barrierTimeoutMs = options.barrierTimeoutMs ?? 1000
    const { stream, history } = options
    this.builder = stream?.publishBatch !== undefined && history === undefined ? new EventBatchBuilder() : undefined
    this.maxBatch = options.maxBatch ?? (this.builder !== undefined ? 2000 : 500)
    const encodedStream = stream?.publishEncoded !== undefined
    this.keepObjects = this.builder === undefined && (history !== undefined || (stream !== undefined && !encodedStream))
    this.keepTexts = this.builder === undefined && (encodedStream || history !== undefined)
  }

  /** Take one event (the emitter's sink). */
  readonly push = (event: ConveyorEvent): void => {
    if (this.closed || this.size + this.inWrite >= this.maxBuffered) {
      this.counts.dropped++
      return
    }
    // Encoded first: an event that does not serialize (the emitter's caller catches the throw) leaves no half entry.
    if (this.builder !== undefined) this.builder.add(event)
    else if (this.keepTexts) this.texts.push(encodeEvent(event))
    if (this.keepObjects) this.events.push(event)
    this.size++
    if (this.size >= this.maxBatch) this.flush({ carry: true })
    else this.arm()
  }

  private arm(): void {
    if (this.timer !== undefined) return
    this.timer = setTimeout(() => this.flush({ carry: true }), this.flushIntervalMs)
    this.timer.unref()
  }

  stats(): EventPublishStats {
    return { ...this.counts, buffered: this.size + this.inWrite }
  }

  /**
   * Start writing what is buffered now; resolves when it was written (or failed). The publisher's own flushes (timer,
   * full batch) `carry` the starts of runs begun within the last flush interval to the next batch, where their
   * success most likely joins them in one row; they are written with it, by the next flush (so within two intervals),
   * or by any `flush()` without `carry` (a barrier, close, the app's).
   */
  flush(options: { readonly carry?: boolean } = {}): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    if (this.size === 0) return this.writing
    const now = Date.now()
    const carry =
      options.carry === true ? { since: now - this.flushIntervalMs, until: now, max: this.maxBatch >> 1 } : undefined
    const encoded = this.builder?.take(carry)
    const size = this.builder !== undefined ? (encoded?.count ?? 0) : this.size
    const batch: Batch = { events: this.events, texts: this.texts, size, ...(encoded ? { encoded } : {}) }
    this.events = []
    this.texts = []
    this.size = this.builder?.size ?? 0
    if (this.size > 0) this.arm()
    if (size === 0) return this.writing
    this.inWrite += batch.size
    this.writing = this.writing
      .then(() => this.write(batch))
      .finally(() => {
        this.inWrite -= batch.size
      })
    return this.writing
  }

  /**
   * Wait (at most `barrierTimeoutMs`) until every event pushed so far is written. Resolves at once while writes are
   * failing: an outage must not slow the app down.
   */
  barrier(): Promise<void> {
    if (this.failing) return Promise.resolve()
    const written = this.flush()
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.barrierTimeoutMs)
      timer.unref()
      void written.then(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }

  /** Write what is left and take no more events. */
  async close(): Promise<void> {
    await this.flush()
    this.closed = true
  }

  private async write(all: Batch): Promise<void> {
    // An encoded batch goes whole (push() flushed it at maxBatch events), and only to the stream: with a history the
    // publisher keeps objects and texts instead.
    if (all.encoded !== undefined) return this.toStream(all)
    for (let i = 0; i < all.size; i += this.maxBatch) {
      const whole = i === 0 && all.size <= this.maxBatch
      const batch: Batch = whole
        ? all
        : {
            events: all.events.slice(i, i + this.maxBatch),
            texts: all.texts.slice(i, i + this.maxBatch),
            size: Math.min(this.maxBatch, all.size - i),
          }
      await Promise.all([this.toStream(batch), this.toHistory(batch)])
    }
  }

  private async toStream(batch: Batch): Promise<void> {
    const stream = this.options.stream
    if (stream === undefined) return
    try {
      if (batch.encoded !== undefined) await stream.publishBatch!(batch.encoded)
      else if (stream.publishEncoded !== undefined) await stream.publishEncoded(batch.texts)
      else await stream.publish(batch.events)
      this.counts.published += batch.size
      if (this.failing) this.options.logger.info({ stream: stream.name }, 'events are written to the stream again')
      this.failing = false
    } catch (error) {
      this.counts.failed += batch.size
      if (!this.failing) {
        this.options.logger.warn(
          { err: error, stream: stream.name },
          'could not write events to the stream; they are counted as failed until it recovers (tasks are not affected)',
        )
      }
      this.failing = true
    }
  }

  private async toHistory(batch: Batch): Promise<void> {
    const history = this.options.history
    if (history === undefined) return
    try {
      await history.record(batch.events, batch.texts)
      if (this.historyFailing) this.options.logger.info({ history: history.name }, 'task history is written again')
      this.historyFailing = false
    } catch (error) {
      this.counts.historyFailed += batch.size
      if (!this.historyFailing) {
        this.options.logger.warn(
          { err: error, history: history.name },
          'could not write task history (tasks are not affected)',
        )
      }
      this.historyFailing = true
    }
  }
}
