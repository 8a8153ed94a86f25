import { InvalidOptionsError } from '@conveyor/core'
import {
  type ConveyorEvent,
  type EventPage,
  type EventPosition,
  type EventReadOptions,
  type StoredEvent,
  safeJsonParse,
} from '@conveyor/core/adapter'
import type { Channel, ConsumeMessage } from 'amqplib'
import type { Connection } from './connection'
import { endOfStream } from './event-stream-end'
import type { RabbitMQLogger } from './options'

/** A stream read ends this long after the last message came in (AMQP has no "caught up" signal). */
const IDLE_MS = 60

/** What the reader needs from its stream. */
export interface EventReaderSetup {
  readonly connection: Connection
  readonly queue: string
  /** Declares the stream queue (once). */
  readonly declare: () => Promise<void>
  /** The stream queue is gone: the next `declare` declares it again. */
  readonly redeclare: () => void
  /** Throws once the stream is closed. */
  readonly ensureOpen: () => void
  /** Told once per reader that the stream holds messages it cannot read (someone else's garbage). */
  readonly logger: RabbitMQLogger
}

/** Reads pages of events: each read opens a short-lived consumer at the offset asked for, on a channel of its own. */
export class EventReader {
  /** Messages skipped because they are not JSON. */
  unreadableMessages = 0

  constructor(private readonly setup: EventReaderSetup) {}

  /** Once per reader: the message's contents stay out of the log (they are someone else's, and may be anything). */
  private readonly onUnreadable = (position: number) => {
    if (this.unreadableMessages++ === 0) {
      this.setup.logger.warn(
        { offset: position },
        '[conveyor] [rabbitmq] skipped an event stream message that is not JSON; later ones are skipped quietly',
      )
    }
  }

  async read(from: EventPosition, readOptions: EventReadOptions = {}): Promise<EventPage> {
    this.setup.ensureOpen()
    const limit = readOptions.limit ?? 500
    if (!(Number.isInteger(limit) && limit >= 1)) {
      throw new InvalidOptionsError(`[rabbitmq] event read limit must be an integer ≥ 1, got ${limit}`)
    }
    const after = typeof from === 'object' && 'after' in from ? parseOffset(from.after) : undefined
    try {
      return await this.readOnce(from, after, limit, readOptions)
    } catch (error) {
      if (!queueGone(error)) throw error
      // Deleted behind our back (an operator dropped it): declared again, as the writer does, and read as the new,
      // empty stream it now is, instead of failing every read until the process restarts. A cursor into the old
      // stream reads the new one from its start: its offsets begin at 0 again, and all of it is new to that reader.
      this.setup.redeclare()
      return after === undefined
        ? this.readOnce(from, undefined, limit, readOptions)
        : this.readOnce('start', undefined, limit, readOptions)
    }
  }

  private async readOnce(
    from: EventPosition,
    after: Position | undefined,
    limit: number,
    readOptions: EventReadOptions,
  ): Promise<EventPage> {
    const { connection, queue } = this.setup
    await this.setup.declare()
    const channel = await connection.channel()
    channel.on('error', () => undefined)
    try {
      if (from === 'end') {
        // The end as it is now (event-stream-end.ts says why not the last chunk), then wait after it.
        const cursor = await endOfStream(channel, queue)
        if (!(readOptions.blockMs && readOptions.blockMs > 0)) return { events: [], cursor }
        return await readAfter(channel, queue, parseOffset(cursor), limit, {
          ...readOptions,
          onUnreadable: this.onUnreadable,
        })
      }
      if (after !== undefined) {
        return await readAfter(channel, queue, after, limit, { ...readOptions, onUnreadable: this.onUnreadable })
      }
      const time = from !== 'start' && 'time' in from ? from.time : 0
      const spec = from === 'start' ? 'first' : { '!': 'timestamp', value: Math.floor(time / 1000) }
      // The end before looking: what is written from here on is after it. Taken after a look that found nothing, it
      // skipped an event written in between (the look had ended, the end had not been read yet).
      const endBefore = from === 'start' ? undefined : parseOffset(await endOfStream(channel, queue))
      const stored = await consumeFrom(channel, queue, spec, {
        limit,
        blockMs: readOptions.blockMs ?? 0,
        ...(readOptions.signal ? { signal: readOptions.signal } : {}),
        keep: (event) => event.at >= time,
        onUnreadable: this.onUnreadable,
      })
      if (stored.events.length > 0 || endBefore === undefined) return pageOf(stored, '-1')
      // Nothing at or after `time`: continue after what the look went through (all of it earlier than `time`) or the
      // end it started from, whichever is later.
      const seen = stored.lastSeen ?? -1
      return { events: [], cursor: String(Math.max(seen, endBefore.offset)) }
    } finally {
      await channel.close().catch(() => undefined)
    }
  }
}

/** amqplib's error for a queue that does not exist (a channel closed with 404 NOT_FOUND). */
function queueGone(error: unknown): boolean {
  return (error as { code?: unknown } | undefined)?.code === 404
}

/** The events after `after`, on the read's channel: within its batch message first, then the messages after it. */
async function readAfter(
  channel: Channel,
  queue: string,
  after: Position,
  limit: number,
  readOptions: EventReadOptions & { readonly onUnreadable: (position: number) => void },
): Promise<EventPage> {
  const start = after.index === undefined ? after.offset + 1 : after.offset
  const stored = await consumeFrom(channel, queue, start, {
    limit,
    blockMs: readOptions.blockMs ?? 0,
    ...(readOptions.signal ? { signal: readOptions.signal } : {}),
    minOffset: start,
    onUnreadable: readOptions.onUnreadable,
    ...(after.index !== undefined ? { skip: after } : {}),
  })
  return pageOf(stored, formatOffset(after))
}

/** The cursor is the last event's offset, or a skipped message's after it (so the next read starts past it). */
function pageOf(stored: ConsumedEvents, emptyCursor: string): EventPage {
  return { events: stored.events, cursor: stored.skippedTo ?? stored.events.at(-1)?.offset ?? emptyCursor }
}

/**
 * The events a consumer took, the offset of an unreadable message it skipped after the last of them, and the offset
 * of the last message it got at all (taken or not).
 */
interface ConsumedEvents {
  readonly events: StoredEvent[]
  skippedTo?: string | undefined
  lastSeen?: number
}

interface ConsumeOptions {
  readonly limit: number
  readonly blockMs: number
  readonly signal?: AbortSignal
  /** Skip messages below this offset (a chunk may start before the offset asked for). */
  readonly minOffset?: number
  /** Skip the events of batch message `offset` up to and including `index` (already read). */
  readonly skip?: Position
  readonly keep?: (event: ConveyorEvent) => boolean
  /** A message that is not JSON: skipped, not thrown (a throw in amqplib's consumer callback kills the connection). */
  readonly onUnreadable: (position: number) => void
}

/**
 * Consume the stream from `offset` until `limit` events were taken, or the stream went quiet for `IDLE_MS` after the
 * last message (or `blockMs` passed with none), or `signal` aborted.
 */
async function consumeFrom(
  channel: Channel,
  queue: string,
  offset: unknown,
  options: ConsumeOptions,
): Promise<ConsumedEvents> {
  const out: ConsumedEvents = { events: [] }
  const taken = out.events
  await channel.prefetch(Math.min(options.limit, 1000))
  const blockUntil = Date.now() + options.blockMs
  return new Promise<ConsumedEvents>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined
    let tag: string | undefined
    let done = false
    const finish = () => {
      if (done) return
      done = true
      if (timer !== undefined) clearTimeout(timer)
      options.signal?.removeEventListener('abort', finish)
      const cancel = tag === undefined ? Promise.resolve() : channel.cancel(tag).then(() => undefined)
      void cancel.catch(() => undefined).then(() => resolve(out))
    }
    const idle = (ms: number) => {
      if (timer !== undefined) clearTimeout(timer)
      timer = setTimeout(finish, ms)
    }
    const onMessage = (message: ConsumeMessage | null) => {
      if (message === null || done) return
      channel.ack(message)
      const position = Number(message.properties.headers?.['x-stream-offset'])
      if (options.minOffset !== undefined && position < options.minOffset) return
      // Until the limit is reached: a message that comes after it was not looked at.
      if (taken.length < options.limit) out.lastSeen = position
      const parsed = parseMessage(message)
      if (parsed === unreadable) {
        options.onUnreadable(position)
        if (taken.length < options.limit) out.skippedTo = String(position)
        return idle(taken.length > 0 ? IDLE_MS : Math.max(IDLE_MS, blockUntil - Date.now()))
      }
      if (taken.length < options.limit) out.skippedTo = undefined
      // A batch (a JSON array) is several events, each at `<offset>.<index>`; a bare object is one, at `<offset>`.
      const events = Array.isArray(parsed) ? parsed : [parsed]
      const first = options.skip?.offset === position ? (options.skip.index ?? -1) + 1 : 0
      for (let i = first; i < events.length && taken.length < options.limit; i++) {
        const event = events[i]
        if (event === undefined || event === null) continue
        if (options.keep !== undefined && !options.keep(event)) continue
        taken.push({ offset: Array.isArray(parsed) ? `${position}.${i}` : String(position), event })
      }
      if (taken.length >= options.limit) finish()
      // A message with nothing taken (an end marker, a filtered event) does not cut a blocking read's wait short.
      else idle(taken.length > 0 ? IDLE_MS : Math.max(IDLE_MS, blockUntil - Date.now()))
    }
    options.signal?.addEventListener('abort', finish)
    if (options.signal?.aborted) return finish()
    idle(Math.max(IDLE_MS * 2, options.blockMs))
    channel
      .consume(queue, onMessage, { noAck: false, arguments: { 'x-stream-offset': offset } })
      .then((ok) => {
        tag = ok.consumerTag
        if (done) void channel.cancel(tag).catch(() => undefined)
      })
      .catch((error: unknown) => {
        done = true
        if (timer !== undefined) clearTimeout(timer)
        reject(error)
      })
  })
}

const unreadable = Symbol('unreadable')

function parseMessage(message: ConsumeMessage): ConveyorEvent | ConveyorEvent[] | undefined | typeof unreadable {
  try {
    return safeJsonParse(message.content.toString('utf8')) as ConveyorEvent | ConveyorEvent[] | undefined
  } catch {
    return unreadable
  }
}

/** A place in the stream: a message's offset and, inside a batch message, an event's index. */
interface Position {
  readonly offset: number
  readonly index?: number
}

/** `<offset>` (a one-event message, or `-1`: before the first) or `<offset>.<index>` (an event of a batch). */
function parseOffset(text: string): Position {
  const match = /^(-1|\d+)(?:\.(\d+))?$/.exec(text)
  if (match === null || (match[1] === '-1' && match[2] !== undefined)) {
    throw new InvalidOptionsError(`[rabbitmq] not an offset of this event stream: "${text.slice(0, 80)}"`)
  }
  return match[2] === undefined ? { offset: Number(match[1]) } : { offset: Number(match[1]), index: Number(match[2]) }
}

function formatOffset({ offset, index }: Position): string {
  return index === undefined ? String(offset) : `${offset}.${index}`
}
