import { NotConnectedError } from '@conveyor/core'
import type { EventRetention, EventStream } from '@conveyor/core/adapter'
import { Connection, connectionSource } from './connection'
import { EventReader } from './event-stream-reader'
import { EventWriter } from './event-stream-writer'
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
const silent: RabbitMQLogger = { debug() {}, info() {}, warn() {}, error() {} }

export function eventStreamQueue(prefix: string): string {
  return prefix === '' ? 'events.stream' : `${prefix}.events.stream`
}

/** `createRabbitMQEventStream`: an app's events in a RabbitMQ stream queue, on a connection of its own. */
export function createRabbitMQEventStream(options: RabbitMQEventStreamOptions): EventStream {
  const logger = options.logger || silent
  const prefix = options.prefix ?? 'conveyor'
  const connection = new Connection(connectionSource(options), {
    name: `conveyor:${prefix}:events:${process.pid}`,
    part: 'event stream',
    logger,
    setup: async () => undefined,
  })
  return rabbitMQEventStream({ connection, owned: true, prefix, retention: options.retention ?? {}, logger })
}

/**
 * An app's events in a RabbitMQ stream queue (`x-queue-type: stream`, RabbitMQ ≥ 3.9): durable, replicated on a
 * cluster, bounded by `x-max-length-bytes` / `x-max-age`, and read from any retained offset with `x-stream-offset`.
 * Publishes go through a confirm channel of their own (event-stream-writer.ts); each read opens a short-lived
 * consumer at the offset asked for (event-stream-reader.ts).
 */
export function rabbitMQEventStream(setup: StreamSetup): EventStream {
  const { connection } = setup
  const queue = eventStreamQueue(setup.prefix)
  const maxAgeMs = setup.retention.maxAgeMs ?? DEFAULT_MAX_AGE_MS
  const maxBytes =
    setup.retention.maxBytes ?? (setup.retention.maxLength ? setup.retention.maxLength * 1000 : DEFAULT_MAX_BYTES)
  let closed = false
  const ensureOpen = () => {
    if (closed) throw new NotConnectedError('[rabbitmq] event stream is closed; create a new one')
  }
  const { declare, forget } = declareOnce(setup, queue, { maxBytes, maxAgeMs })
  const writer = new EventWriter({ connection, queue, declare, redeclare: forget, ensureOpen })
  const reader = new EventReader({ connection, queue, declare, redeclare: forget, ensureOpen, logger: setup.logger })

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
      await writer.close()
      if (setup.owned) await connection.close()
    },
    publish: (events) => writer.append(events.map((event) => JSON.stringify(event))),
    // The publisher's texts as they are, one message per batch (an event's offset is `<stream offset>.<index>`).
    publishEncoded: (texts) => writer.append(texts),
    read: (from, readOptions) => reader.read(from, readOptions),
  }
}

/**
 * `declare` declares the stream queue on first call; a failed declaration is tried again by the next call, and so is
 * every one after `forget` (the queue was found gone).
 */
function declareOnce(
  setup: StreamSetup,
  queue: string,
  bounds: { readonly maxBytes: number; readonly maxAgeMs: number },
): { declare: () => Promise<void>; forget: () => void } {
  let declared: Promise<void> | undefined
  return {
    declare: () => {
      declared ??= declareStream(setup, queue, bounds).catch((error: unknown) => {
        declared = undefined
        throw error
      })
      return declared
    },
    forget: () => {
      declared = undefined
    },
  }
}

async function declareStream(
  setup: StreamSetup,
  queue: string,
  { maxBytes, maxAgeMs }: { readonly maxBytes: number; readonly maxAgeMs: number },
): Promise<void> {
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
}
