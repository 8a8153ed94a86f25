import { InvalidOptionsError, NotConnectedError } from '@conveyor/core'
import type { EventRetention, EventStream } from '@conveyor/core/adapter'
import { closeClient, ensureConnected, openClient, splitUrl } from './connection'
import { EventReader } from './event-stream-reader'
import { EventWriter } from './event-stream-writer'
import { resolveLogger } from './logger'
import type { RedisConnectionOptions } from './options'

export interface RedisEventStreamOptions extends RedisConnectionOptions {
  /** Defaults to about 100,000 events (`XADD MAXLEN ~`) and 24 hours (`XTRIM MINID ~`, at most every 10 s). */
  readonly retention?: EventRetention
}

const DEFAULT_MAX_LENGTH = 100_000
const DEFAULT_MAX_AGE_MS = 86_400_000

/** Key of an app's event stream: its own hash tag, apart from the queues'. */
export function eventStreamKey(prefix: string): string {
  return `{${prefix}:events}:stream`
}

/**
 * The app's events in one capped Redis stream, so any process can read them from any retained offset: `XRANGE` for
 * catching up, `XREAD BLOCK` on a connection of its own for waiting. One entry per published batch (one `XADD` per
 * flush, not per event: a per-event entry cost the server and the client five times more), so an offset is the entry
 * id and the event's index in it (`<ms>-<seq>:<i>`), and `{ time }` positions need no index. The length bound counts
 * events through the publisher's mean batch size (an exact `MAXLEN` on entries), so it is approximate.
 *
 * Writing is event-stream-writer.ts, reading (pages, offsets, blocking reads) event-stream-reader.ts.
 */
export function createRedisEventStream(options: RedisEventStreamOptions = {}): EventStream {
  const prefix = options.prefix ?? (options.url !== undefined ? splitUrl(options.url).prefix : undefined) ?? 'conveyor'
  const maxLength = options.retention?.maxLength ?? DEFAULT_MAX_LENGTH
  const maxAgeMs = options.retention?.maxAgeMs ?? DEFAULT_MAX_AGE_MS
  if (!(Number.isInteger(maxLength) && maxLength >= 1)) {
    throw new InvalidOptionsError(`[redis] event stream retention.maxLength must be an integer ≥ 1, got ${maxLength}`)
  }
  if (!(maxAgeMs > 0)) throw new InvalidOptionsError('[redis] event stream retention.maxAgeMs must be > 0')
  const key = eventStreamKey(prefix)
  const { client, owned } = openClient(options, `conveyor:${prefix}:events`)
  const onError = () => undefined // failures surface as rejected calls; the app's publisher logs them once
  client.on('error', onError)
  let closed = false
  const ready = async () => {
    if (closed) throw new NotConnectedError('[conveyor] [redis] event stream is closed; create a new one')
    await ensureConnected(client)
  }
  const writer = new EventWriter({ client, key, maxLength, maxAgeMs, ready })
  const reader = new EventReader({
    client,
    key,
    prefix,
    ready,
    closed: () => closed,
    logger: resolveLogger(options.logger),
  })

  return {
    name: 'redis',
    retention: { maxLength, maxAgeMs },
    async connect() {
      await ready()
    },
    async close() {
      if (closed) return
      closed = true
      await reader.close()
      if (owned) await closeClient(client)
      client.off('error', onError)
    },
    publish: (events) => writer.publish(events),
    publishEncoded: (texts) => writer.publishEncoded(texts),
    publishBatch: (batch) => writer.publishBatch(batch),
    read: (from, readOptions) => reader.read(from, readOptions),
  }
}
