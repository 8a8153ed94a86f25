import type {
  ConveyorEvent,
  EventPosition,
  EventRetention,
  EventStream,
  EventType,
  StoredEvent,
} from '../contracts/event-stream'
import type { HistoryRetention, TaskHistory } from '../contracts/task-history'
import { UnsupportedError } from '../errors/unsupported-error'
import type { Logger } from '../logging/logger'
import { EventPublisher, type EventPublishStats } from './event-publisher'
import { TaskEventEmitter } from './events'

/** `createApp({ events })`: what the app does with its events beyond the in-process emitter. */
export interface AppEventsOptions {
  /**
   * Publish this process's task and worker events to the stream (and fold them into the task history), batched in
   * the background. `createApp({ events: true })` or any `events` options object turns it on (this defaults to true
   * inside one); without `events` an app publishes nothing (the cost, and why it is not the default:
   * docs/events-and-history.md). Workers must publish for the dashboard's task pages and history. Reading
   * (`subscribe`) works either way.
   */
  readonly publish?: boolean
  /** The stream to publish to and read from. Defaults to the broker's (`Broker.eventStream`); `false` for none. */
  readonly stream?: EventStream | false
  /** Bounds of the broker's stream when the app makes it (ignored for a `stream` you pass). */
  readonly retention?: EventRetention
  /** Where runs are kept for listing. Defaults to the result backend's (`ResultBackend.taskHistory`); `false` for none. */
  readonly history?: TaskHistory | false
  /** Bounds of the result backend's history when the app makes it. */
  readonly historyRetention?: HistoryRetention
  /** Put task inputs and results (as JSON text, cut to `maxValueBytes`) in events. Defaults to true. */
  readonly values?: boolean
  /** Longest input/result text an event carries. Defaults to 4096 bytes. */
  readonly maxValueBytes?: number
  /** How long an event may wait to be batched. Defaults to 20 ms. */
  readonly flushIntervalMs?: number
  /** Most events held while the stream is slow or down (then dropped and counted). Defaults to 20,000. */
  readonly maxBuffered?: number
}

/** Options of `app.events.subscribe`. */
export interface SubscribeOptions {
  /** Where to start. Defaults to `'end'`: only events published from now on. */
  readonly from?: EventPosition
  /** Only these event types; a trailing `*` matches a prefix (`task.*`). */
  readonly types?: readonly string[]
  /** Only events of this task name. */
  readonly task?: string
  /** Only events of this queue. */
  readonly queue?: string
  /** Ends the iteration. */
  readonly signal?: AbortSignal
  /** Events fetched per read. Defaults to 500. */
  readonly batch?: number
}

interface AppEventsSetup {
  readonly stream: EventStream | undefined
  readonly history: TaskHistory | undefined
  readonly publish: boolean
  readonly logger: Logger
  readonly options: AppEventsOptions
}

/**
 * `app.events`: the in-process emitter (`on`, `once`, `wants`: zero cost when unused), the app's publisher to the
 * cross-process stream, and `subscribe`, the one way every reader (dashboard, `conveyor events`, alerts, your code)
 * follows the stream.
 */
export class AppEvents extends TaskEventEmitter {
  readonly stream: EventStream | undefined
  readonly history: TaskHistory | undefined
  private publisher: EventPublisher | undefined
  private readonly maxValueBytes: number
  private readonly values: boolean

  constructor(private readonly setup: AppEventsSetup) {
    super()
    this.stream = setup.stream
    this.history = setup.history
    this.values = setup.options.values ?? true
    this.maxValueBytes = setup.options.maxValueBytes ?? 4096
    if (setup.publish) this.setPublishing(true)
  }

  /**
   * Publish this process's events from now on, or stop: what `createApp({ events })` decided, changed after the app
   * was made (`conveyor worker --events` / `--no-events` over an app module). Call it before workers start, so every
   * run's events are published or none. Turning it on does nothing when the app has neither stream nor history; what
   * was buffered when it is turned off is still written.
   */
  setPublishing(on: boolean): void {
    if (!on) {
      this.sink = undefined
      return
    }
    const { stream, history, logger, options } = this.setup
    if (this.publisher === undefined && (stream !== undefined || history !== undefined)) {
      this.publisher = new EventPublisher({
        stream,
        history,
        logger,
        ...(options.flushIntervalMs !== undefined ? { flushIntervalMs: options.flushIntervalMs } : {}),
        ...(options.maxBuffered !== undefined ? { maxBuffered: options.maxBuffered } : {}),
      })
    }
    this.sink = this.publisher?.push
  }

  /** Counters of what was published, failed and dropped (all zero when the app does not publish). */
  stats(): EventPublishStats {
    return this.publisher?.stats() ?? { published: 0, failed: 0, dropped: 0, historyFailed: 0, buffered: 0 }
  }

  /** Write what is buffered now. Resolves once written (or failed); never rejects. */
  flush(): Promise<void> {
    return this.publisher?.flush() ?? Promise.resolve()
  }

  /** See `EventPublisher.barrier`: bounded wait until what was pushed so far is written. */
  barrier(): Promise<void> {
    return this.publisher?.barrier() ?? Promise.resolve()
  }

  /**
   * A value as JSON text for an event, cut to `maxValueBytes`; undefined when values are not published or the value
   * is undefined (or does not serialize).
   */
  valueText(value: unknown): { text: string; truncated: boolean } | undefined {
    if (!this.values || value === undefined) return undefined
    let text: string | undefined
    try {
      text = JSON.stringify(value)
    } catch {
      return undefined
    }
    if (text === undefined) return undefined
    // Three UTF-8 bytes per UTF-16 unit at most: short texts skip measuring.
    if (text.length * 3 <= this.maxValueBytes || Buffer.byteLength(text) <= this.maxValueBytes) {
      return { text, truncated: false }
    }
    return { text: Buffer.from(text).subarray(0, this.maxValueBytes).toString('utf8'), truncated: true }
  }

  /**
   * Follow the stream from `from` (default: what is published from now on), in stream order, until `signal` aborts
   * or the loop breaks. Each item carries its `offset`: store it and pass `{ from: { after: offset } }` to resume
   * after a restart without losing or repeating events (within the stream's retention).
   */
  async *subscribe(options: SubscribeOptions = {}): AsyncGenerator<StoredEvent, void, undefined> {
    const stream = this.stream
    if (stream === undefined) {
      throw new UnsupportedError(
        'app.events.subscribe: this app has no event stream (its broker offers none, or createApp({ events: { stream: false } }))',
      )
    }
    const matches = filterOf(options)
    const stop = new AbortController()
    const onAbort = () => stop.abort()
    options.signal?.addEventListener('abort', onAbort)
    try {
      await stream.connect()
      let position: EventPosition = options.from ?? 'end'
      while (!stop.signal.aborted) {
        const page = await stream.read(position, { limit: options.batch ?? 500, blockMs: 2000, signal: stop.signal })
        for (const stored of page.events) {
          if (stop.signal.aborted) return
          if (matches(stored.event)) yield stored
        }
        position = { after: page.cursor }
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort)
      stop.abort()
    }
  }

  /** Write what is left, then close the stream and history the app made. */
  async close(): Promise<void> {
    await this.publisher?.close()
    await Promise.allSettled([this.stream?.close(), this.history?.close()])
  }
}

function filterOf(options: SubscribeOptions): (event: ConveyorEvent) => boolean {
  const exact = new Set<string>()
  const prefixes: string[] = []
  for (const type of options.types ?? []) {
    if (type.endsWith('*')) prefixes.push(type.slice(0, -1))
    else exact.add(type)
  }
  const anyType = exact.size === 0 && prefixes.length === 0
  return (event) => {
    if (!anyType && !exact.has(event.type) && !prefixes.some((prefix) => event.type.startsWith(prefix))) return false
    if (options.task === undefined && options.queue === undefined) return true
    if (!('task' in event)) return false
    return (
      (options.task === undefined || event.task === options.task) &&
      (options.queue === undefined || event.queue === options.queue)
    )
  }
}

/** The event types core emits, for CLIs and filters. */
export const EVENT_TYPES: readonly EventType[] = [
  'task.enqueued',
  'task.started',
  'task.succeeded',
  'task.retried',
  'task.failed',
  'task.dead-lettered',
  'task.expired',
  'task.revoked',
  'task.replayed',
  'task.progress',
  'worker.online',
  'worker.heartbeat',
  'worker.offline',
]
