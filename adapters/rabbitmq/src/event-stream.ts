import { InvalidOptionsError, NotConnectedError } from '@conveyor/core'
import {
  type ConveyorEvent,
  type EventPage,
  type EventPosition,
  type EventReadOptions,
  type EventRetention,
  type EventStream,
  type StoredEvent,
  safeJsonParse,
} from '@conveyor/core/adapter'
import type { Channel, ConfirmChannel, ConsumeMessage } from 'amqplib'
import { Connection } from './connection'
import type { RabbitMQBrokerOptions, RabbitMQLogger } from './options'

export interface RabbitMQEventStreamOptions
  extends Pick<RabbitMQBrokerOptions, 'url' | 'socketOptions' | 'connection'> {
  /** Queue names are `<prefix>.events.stream`. Defaults to `conveyor`. */
  readonly prefix?: string
  /**
   * Defaults to 100 MB (`x-max-length-bytes`) and 24 h (`x-max-age`). RabbitMQ bounds streams by bytes, not count:
   * `maxLength` becomes `maxLength × 1 KB` of bytes when `maxBytes` is not given. Fixed when the stream is first
   * declared (queue arguments cannot change); a later, different bound is ignored with a warning.
   */
  readonly retention?: EventRetention
  readonly logger?: RabbitMQLogger | false
}

/** A connection the stream uses: the broker's (shared, never closed here) or one of its own. */
interface StreamSetup {
  readonly connection: Connection
  readonly owned: boolean
  readonly prefix: string
  readonly retention: EventRetention
  readonly logger: RabbitMQLogger
}

const DEFAULT_MAX_BYTES = 100_000_000
const DEFAULT_MAX_AGE_MS = 86_400_000
/** A stream read ends this long after the last message came in (AMQP has no "caught up" signal). */
const IDLE_MS = 60
const silent: RabbitMQLogger = { debug() {}, info() {}, warn() {}, error() {} }

export function eventStreamQueue(prefix: string): string {
  return prefix === '' ? 'events.stream' : `${prefix}.events.stream`
}

/** `createRabbitMQEventStream`: an app's events in a RabbitMQ stream queue, on a connection of its own. */
export function createRabbitMQEventStream(options: RabbitMQEventStreamOptions): EventStream {
  const logger = options.logger || silent
  const prefix = options.prefix ?? 'conveyor'
  const connection = new Connection(
    options.connection
      ? { connection: options.connection }
      : { url: options.url!, ...(options.socketOptions ? { socketOptions: options.socketOptions } : {}) },
    { name: `conveyor:${prefix}:events:${process.pid}`, part: 'event stream', logger, setup: async () => undefined },
  )
  return rabbitMQEventStream({ connection, owned: true, prefix, retention: options.retention ?? {}, logger })
}

/**
 * An app's events in a RabbitMQ stream queue (`x-queue-type: stream`, RabbitMQ ≥ 3.9): durable, replicated on a
 * cluster, bounded by `x-max-length-bytes` / `x-max-age`, and read from any retained offset with `x-stream-offset`.
 * Publishes go through a confirm channel of their own; each read opens a short-lived consumer at the offset asked for.
 */
export function rabbitMQEventStream(setup: StreamSetup): EventStream {
  const queue = eventStreamQueue(setup.prefix)
  const maxAgeMs = setup.retention.maxAgeMs ?? DEFAULT_MAX_AGE_MS
  const maxBytes =
    setup.retention.maxBytes ?? (setup.retention.maxLength ? setup.retention.maxLength * 1000 : DEFAULT_MAX_BYTES)
  let publisher: Promise<ConfirmChannel> | undefined
  let declared: Promise<void> | undefined
  let closed = false

  const declare = (): Promise<void> => {
    declared ??= (async () => {
      const channel = await setup.connection.channel()
      channel.on('error', () => undefined)
      const args = {
        'x-queue-type': 'stream',
        'x-max-length-bytes': maxBytes,
        'x-max-age': `${Math.max(1, Math.ceil(maxAgeMs / 1000))}s`,
        // Retention drops whole segments: small ones keep the bound close.
        'x-stream-max-segment-size-bytes': Math.max(100_000, Math.min(50_000_000, Math.floor(maxBytes / 10))),
      }
      try {
        await channel.assertQueue(queue, { durable: true, arguments: args })
        await channel.close().catch(() => undefined)
      } catch {
        // Declared before with other bounds (PRECONDITION_FAILED closed the channel): use it as it is.
        setup.logger.warn({ queue }, '[conveyor] [rabbitmq] event stream exists with other retention; keeping it')
        const check = await setup.connection.channel()
        check.on('error', () => undefined)
        await check.checkQueue(queue)
        await check.close().catch(() => undefined)
      }
    })().catch((error: unknown) => {
      declared = undefined
      throw error
    })
    return declared
  }

  const confirmChannel = (): Promise<ConfirmChannel> => {
    publisher ??= (async () => {
      await declare()
      const channel = await setup.connection.confirmChannel()
      channel.on('error', () => undefined)
      channel.once('close', () => {
        publisher = undefined
      })
      return channel
    })().catch((error: unknown) => {
      publisher = undefined
      throw error
    })
    return publisher
  }

  const append = async (texts: readonly string[]): Promise<void> => {
    ensureOpen()
    if (texts.length === 0) return
    const channel = await confirmChannel()
    for (const text of texts) channel.publish('', queue, Buffer.from(text), { contentType: 'application/json' })
    await channel.waitForConfirms()
  }

  const ensureOpen = () => {
    if (closed) throw new NotConnectedError('[rabbitmq] event stream is closed; create a new one')
  }

  return {
    name: 'rabbitmq',
    retention: { maxBytes, maxAgeMs },
    async connect() {
      ensureOpen()
      await declare()
    },
    async close() {
      if (closed) return
      closed = true
      const channel = await publisher?.catch(() => undefined)
      await channel?.close().catch(() => undefined)
      if (setup.owned) await setup.connection.close()
    },
    publish(events) {
      return append(events.map((event) => JSON.stringify(event)))
    },
    // The publisher's texts as they are: one message per event (the stream offset is the event's offset).
    publishEncoded(texts) {
      return append(texts)
    },
    async read(from: EventPosition, readOptions: EventReadOptions = {}) {
      ensureOpen()
      const limit = readOptions.limit ?? 500
      if (!(Number.isInteger(limit) && limit >= 1)) {
        throw new InvalidOptionsError(`[rabbitmq] event read limit must be an integer ≥ 1, got ${limit}`)
      }
      const after = typeof from === 'object' && 'after' in from ? checkOffset(from.after) : undefined
      await declare()
      const channel = await setup.connection.channel()
      channel.on('error', () => undefined)
      try {
        if (from === 'end') {
          // Where the end is: the last chunk holds the newest offset ('last' starts there); then wait after it.
          const tail = await consumeFrom(channel, queue, 'last', { limit: Number.MAX_SAFE_INTEGER, blockMs: 0 })
          const cursor = tail.at(-1)?.offset ?? '-1'
          if (!(readOptions.blockMs && readOptions.blockMs > 0)) return { events: [], cursor }
          return await readAfter(setup, queue, Number(cursor), limit, readOptions, channel)
        }
        if (after !== undefined) return await readAfter(setup, queue, after, limit, readOptions, channel)
        const time = from !== 'start' && 'time' in from ? from.time : 0
        const spec = from === 'start' ? 'first' : { '!': 'timestamp', value: Math.floor(time / 1000) }
        const stored = await consumeFrom(channel, queue, spec, {
          limit,
          blockMs: readOptions.blockMs ?? 0,
          ...(readOptions.signal ? { signal: readOptions.signal } : {}),
          keep: (event) => event.at >= time,
        })
        if (stored.length > 0 || from === 'start') return pageOf(stored, '-1')
        // Nothing at or after `time`: continue after the newest event there is.
        const tail = await consumeFrom(channel, queue, 'last', { limit: Number.MAX_SAFE_INTEGER, blockMs: 0 })
        return { events: [], cursor: tail.at(-1)?.offset ?? '-1' }
      } finally {
        await channel.close().catch(() => undefined)
      }
    },
  }
}

async function readAfter(
  setup: StreamSetup,
  queue: string,
  after: number,
  limit: number,
  readOptions: EventReadOptions,
  given?: Channel,
): Promise<EventPage> {
  const channel = given ?? (await setup.connection.channel())
  if (given === undefined) channel.on('error', () => undefined)
  try {
    const stored = await consumeFrom(channel, queue, after + 1, {
      limit,
      blockMs: readOptions.blockMs ?? 0,
      ...(readOptions.signal ? { signal: readOptions.signal } : {}),
      minOffset: after + 1,
    })
    return pageOf(stored, String(after))
  } finally {
    if (given === undefined) await channel.close().catch(() => undefined)
  }
}

function pageOf(stored: StoredEvent[], emptyCursor: string): EventPage {
  return { events: stored, cursor: stored.at(-1)?.offset ?? emptyCursor }
}

interface ConsumeOptions {
  readonly limit: number
  readonly blockMs: number
  readonly signal?: AbortSignal
  /** Skip messages below this offset (a chunk may start before the offset asked for). */
  readonly minOffset?: number
  readonly keep?: (event: ConveyorEvent) => boolean
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
): Promise<StoredEvent[]> {
  const out: StoredEvent[] = []
  await channel.prefetch(Math.min(options.limit, 1000))
  return new Promise<StoredEvent[]>((resolve, reject) => {
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
      const event = safeJsonParse(message.content.toString('utf8')) as ConveyorEvent | undefined
      if (event !== undefined && (options.keep === undefined || options.keep(event))) {
        out.push({ offset: String(position), event })
      }
      if (out.length >= options.limit) finish()
      else idle(IDLE_MS)
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

function checkOffset(offset: string): number {
  const value = Number(offset)
  if (!/^-?\d+$/.test(offset) || value < -1) {
    throw new InvalidOptionsError(`[rabbitmq] not an offset of this event stream: "${offset.slice(0, 80)}"`)
  }
  return value
}
