/**
 * Celery task protocol v2 as Celery 5 writes it (celery/app/amqp.py `as_task_v2`). Types only; the codec is in
 * `message.ts`.
 */

/** The message headers of a protocol v2 task message. Times are ISO 8601 strings, UTC. */
export interface CeleryHeaders {
  /** `py` from Celery; Conveyor writes `js`. */
  readonly lang?: string
  /** Registered task name, e.g. `proj.tasks.add`. Absent in protocol v1 (the body carried it). */
  readonly task: string
  /** Task id (a UUID from Celery). */
  readonly id: string
  /** Name shown instead of `task` in logs and monitors. */
  readonly shadow?: string | null
  /** Not before this time (countdown/eta). Celery workers hold such messages in memory until due. */
  readonly eta?: string | null
  /** Not after this time: the task is revoked as expired. */
  readonly expires?: string | null
  readonly group?: string | null
  readonly group_index?: number | null
  /** Retries done so far: 0 for the first run, +1 per `self.retry()`. */
  readonly retries?: number
  /** `[hard, soft]` time limits in seconds (the code's order, not the docs'). */
  readonly timelimit?: readonly [number | null, number | null]
  readonly root_id?: string | null
  readonly parent_id?: string | null
  /** `repr()` of the args/kwargs, for logs and monitors. */
  readonly argsrepr?: string
  readonly kwargsrepr?: string
  /** `pid@hostname` of the producer. */
  readonly origin?: string
  readonly ignore_result?: boolean
  /** Kombu sets this on a message it gave back to the queue (Redis `restore`). */
  readonly redelivered?: boolean
  readonly [key: string]: unknown
}

/** The body's third element: canvas links. Conveyor runs none of them (see docs/celery.md). */
export interface CeleryEmbed {
  readonly callbacks?: unknown
  readonly errbacks?: unknown
  readonly chain?: unknown
  readonly chord?: unknown
}

/** The decoded body `[args, kwargs, embed]`. */
export type CeleryBody = readonly [readonly unknown[], Readonly<Record<string, unknown>>, CeleryEmbed]

/** What a Conveyor handler of a Celery task receives as its input: the positional and keyword arguments. */
export interface CeleryCall<Args extends readonly unknown[] = unknown[], Kwargs = Record<string, unknown>> {
  readonly args: Args
  readonly kwargs?: Kwargs
}

/** AMQP message properties Celery sets (Kombu copies them into its Redis envelope's `properties`). */
export interface CeleryProperties {
  /** The task id. The RPC result backend replies with it. */
  readonly correlation_id: string
  /** Reply queue of the producer's RPC result backend. */
  readonly reply_to?: string
  /** 2 (persistent). */
  readonly delivery_mode?: number
  /** AMQP: higher first. Kombu's Redis transport: 0 first (inverted; see `kombu-layout.ts`). */
  readonly priority?: number
}

/** A protocol v2 message in the parts every transport carries. `body` is the JSON text of `[args, kwargs, embed]`. */
export interface CeleryMessage {
  readonly headers: CeleryHeaders
  readonly properties: CeleryProperties
  readonly contentType: string
  readonly contentEncoding: string
  readonly body: string
}
