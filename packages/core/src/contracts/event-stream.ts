import type { DeadLetterReason, ErrorInfo } from './dead-letter'
import type { JsonValue } from './json'

/** Fields every task event carries. */
export interface TaskEventBase {
  /** The task run's id (`Envelope.id`): the same across retries and redeliveries. */
  readonly id: string
  readonly task: string
  readonly queue: string
  /** The attempt the event is about, starting at 1 (`Envelope.attempt`). */
  readonly attempt: number
  /** Epoch milliseconds when the event happened, on the emitting process's clock. */
  readonly at: number
  /**
   * The worker the event comes from (`host:pid:n`, see `Worker.id`); absent on producer-side events
   * (`task.enqueued`, `task.revoked` requested from a CLI, `task.replayed`).
   */
  readonly worker?: string
}

/**
 * Every state change of a task run. Emitted in-process on `app.events` (free when nobody listens) and, when the app
 * publishes, written to its `EventStream` for other processes. The key is the event's `type`.
 */
export interface TaskEvents {
  /** Published to the broker (`sent` in Celery's words). Written before the message is handed to the broker. */
  'task.enqueued': TaskEventBase & {
    readonly priority: number
    /** Epoch milliseconds before which it will not run (delay, ETA). */
    readonly notBefore?: number
    readonly expiresAt?: number
    readonly maxAttempts: number
    readonly parentId?: string
    readonly rootId?: string
    /**
     * The task input as JSON text, cut to the app's `events.maxValueBytes` (default 4 KiB); `inputTruncated` says
     * when it was cut. Absent when the app was told not to publish inputs (`events.inputs: false`).
     */
    readonly input?: string
    readonly inputTruncated?: boolean
  }
  /** A worker began an attempt (the handler is about to run). */
  'task.started': TaskEventBase & {
    /** Times this attempt was delivered, starting at 1 (`Delivery.deliveryCount`). */
    readonly deliveryCount: number
    /** Epoch milliseconds when the run was first enqueued (`Envelope.createdAt`): gives the wait time. */
    readonly enqueuedAt: number
    /** When this attempt was due (`Envelope.notBefore`: delay, ETA, retry backoff), if it was held back. */
    readonly notBefore?: number
  }
  'task.succeeded': TaskEventBase & {
    readonly durationMs: number
    /** The handler's return value as JSON text, cut like `input`; absent when undefined or not published. */
    readonly result?: string
    readonly resultTruncated?: boolean
  }
  /** The attempt failed and another one is scheduled after `delayMs`. */
  'task.retried': TaskEventBase & { readonly durationMs: number; readonly delayMs: number; readonly error: ErrorInfo }
  /** The run failed for good (a retry policy that neither retries nor dead-letters). */
  'task.failed': TaskEventBase & { readonly durationMs: number; readonly error: ErrorInfo }
  'task.dead-lettered': TaskEventBase & {
    readonly durationMs: number
    readonly reason: DeadLetterReason
    readonly error?: ErrorInfo
  }
  /** Delivered after its `expiresAt`: acknowledged without running. */
  'task.expired': TaskEventBase
  /** Skipped because it was revoked (emitted by the worker that skipped it). */
  'task.revoked': TaskEventBase
  /** Put back on its queue from the dead-letter store (`conveyor dlq replay`); it runs again from attempt 1. */
  'task.replayed': TaskEventBase
  /** A progress report from inside a handler (`ctx.progress(...)`), e.g. `{ done: 3, total: 10 }`. */
  'task.progress': TaskEventBase & { readonly progress: JsonValue }
}

/** A worker's identity as events carry it. */
export interface WorkerEventBase {
  /** `Worker.id`: `host:pid:n`. */
  readonly worker: string
  readonly host: string
  readonly pid: number
  /** Epoch milliseconds, on the worker's clock. */
  readonly at: number
}

/** Worker lifecycle. `worker.heartbeat` carries the same data as the coordination store's `WorkerHeartbeat`. */
export interface WorkerEvents {
  /** The worker consumes its queues now. */
  'worker.online': WorkerEventBase & {
    readonly queues: readonly string[]
    readonly concurrency: number
    readonly pool?: string
  }
  /** Written with every heartbeat (`startHeartbeat`), every 5 s by default. */
  'worker.heartbeat': WorkerEventBase & {
    readonly queues: readonly string[]
    readonly state: string
    /** Handlers running now. */
    readonly active: number
    /** Deliveries finished since the worker started. */
    readonly processed: number
    readonly pool?: string
    readonly rssBytes?: number
    readonly startedAt: number
  }
  /** The worker stopped cleanly. A worker that dies emits nothing: readers drop it when its heartbeats stop. */
  'worker.offline': WorkerEventBase & { readonly processed: number }
}

/** Every event name: `task.*` and `worker.*`. */
export type EventType = keyof TaskEvents | keyof WorkerEvents
export type TaskEventType = keyof TaskEvents
export type WorkerEventType = keyof WorkerEvents

/** The payload of event `T`, without its `type`. */
export type EventPayload<T extends EventType> = T extends keyof TaskEvents
  ? TaskEvents[T]
  : T extends keyof WorkerEvents
    ? WorkerEvents[T]
    : never

/** One event as it travels: a discriminated union on `type`. Unknown future types must be skipped by readers. */
export type ConveyorEvent = { [T in EventType]: { readonly type: T } & EventPayload<T> }[EventType]

/** A task event (`type` starts with `task.`). */
export type TaskEvent = Extract<ConveyorEvent, { type: TaskEventType }>

/** An event read back from a stream, with where it sits there. */
export interface StoredEvent {
  /**
   * The event's position in the stream: opaque, compare only for equality, and pass it back as `{ after: offset }`
   * to continue after it. (Redis: the stream entry id; RabbitMQ: the stream offset; memory: a sequence number.)
   */
  readonly offset: string
  readonly event: ConveyorEvent
}

/**
 * Where a read starts: the oldest retained event; only events published from now on; right after a known offset
 * (resume: nothing read before is repeated, nothing since is missed while it is retained); or the first event at or
 * after an epoch-millisecond time (on the stream's clock, to the precision the stream keeps).
 */
export type EventPosition = 'start' | 'end' | { readonly after: string } | { readonly time: number }

/** Options of `EventStream.read`. */
export interface EventReadOptions {
  /** At most this many events. Defaults to 500. */
  readonly limit?: number
  /** When nothing is there yet, wait up to this long for the first event instead of returning empty. Default 0. */
  readonly blockMs?: number
  /** Aborts a blocking read (resolves with what was read, possibly nothing). */
  readonly signal?: AbortSignal
}

/** One page of a read. */
export interface EventPage {
  /** In stream order, oldest first. */
  readonly events: readonly StoredEvent[]
  /**
   * Where the next read continues: `{ after: cursor }` returns what follows this page, also when the page is empty
   * (it then points at the end as it was when read, so a reader started at `'end'` misses nothing published later).
   */
  readonly cursor: string
}

/** How long a stream keeps events. Whichever bound is hit first drops the oldest events. */
export interface EventRetention {
  /** Most events kept (approximate where the store trims in blocks, e.g. Redis `MAXLEN ~`). */
  readonly maxLength?: number
  /** Most bytes kept (RabbitMQ streams bound by size, not count). */
  readonly maxBytes?: number
  /** Events older than this are dropped (at the store's granularity: Redis on the next write, RabbitMQ by segment). */
  readonly maxAgeMs?: number
}

/**
 * A durable, replayable, bounded log of events shared by every process of an app (one per app namespace): workers
 * and producers publish, dashboards, `conveyor events`, alerts and metrics read from wherever they left off.
 *
 * Rules an implementation keeps (the conformance suite checks them):
 * - `publish` keeps the order of its batch, and batches of one publisher in the order they were published;
 * - `read` from `{ after: offset }` returns exactly the events published after that one that are still retained;
 * - events beyond `retention` are dropped oldest first; a reader whose offset fell out of retention resumes at the
 *   oldest retained event (it can tell by the gap in `at`, the stream does not fail the read).
 */
export interface EventStream {
  /** Short name for logs, e.g. `memory`, `redis`, `rabbitmq`. */
  readonly name: string
  readonly retention: EventRetention
  /** Open connections. Idempotent; the other methods connect lazily. */
  connect(): Promise<void>
  /** Close what the stream opened (never a client it was given). Pending blocking reads resolve empty. */
  close(): Promise<void>
  /** Append the events, in order. Resolves once the store has them (the app batches and never awaits this in a task). */
  publish(events: readonly ConveyorEvent[]): Promise<void>
  /**
   * Optional: append events the app's publisher already encoded, `texts[i]` being one event as JSON text (core's
   * `encodeEvent`), in order. A stream that stores JSON implements it so each event is encoded once; the publisher
   * then keeps no event objects around for it. Same rules as `publish`.
   */
  publishEncoded?(texts: readonly string[]): Promise<void>
  /**
   * Optional: append a batch the app's publisher wrote as bytes (`EncodedEventBatch`), for a stream that stores a
   * batch as one record, as the Redis stream does. The app uses it when it keeps no task history of its own (a
   * history needs each event as an object and a text). A stream that implements it must read such records back with
   * `decodeEventBatch` (from `@conveyor/core/adapter`), which expands the batch's pair rows into events. Same rules as
   * `publish`.
   */
  publishBatch?(batch: EncodedEventBatch): Promise<void>
  /** Read up to `limit` events from `from`. */
  read(from: EventPosition, options?: EventReadOptions): Promise<EventPage>
}

/**
 * A batch of events as one JSON array in UTF-8: each item an event object, or a row that stands for a run's
 * `task.started` and `task.succeeded` together, naming its task, queue and worker by their index in `names`.
 * Store `bytes` and `names` as they are; `decodeEventBatch(text, names)` gives the events back, in order.
 */
export interface EncodedEventBatch {
  readonly bytes: Uint8Array
  /** Events in the batch, a row counting as two. */
  readonly count: number
  /** Task, queue and worker names the rows refer to by index. */
  readonly names: readonly string[]
}

/** Options an app passes when it asks a broker for its stream (`Broker.eventStream`). */
export interface EventStreamOptions {
  /** Bounds; adapters document their defaults (about 100,000 events / 24 h). */
  readonly retention?: EventRetention
}
