import { InvalidOptionsError, NotConnectedError } from '@conveyor/core'
import {
  type ConveyorEvent,
  type EventPage,
  type EventPosition,
  type EventReadOptions,
  type EventRetention,
  type EventStream,
  joinEncoded,
  type StoredEvent,
  safeJsonParse,
} from '@conveyor/core/adapter'
import { closeClient, duplicateClient, ensureConnected, openClient, splitUrl } from './connection'
import type { RedisClient, RedisConnectionOptions } from './options'

export interface RedisEventStreamOptions extends RedisConnectionOptions {
  /** Defaults to about 100,000 events (`XADD MAXLEN ~`) and 24 hours (`XTRIM MINID ~`, at most every 10 s). */
  readonly retention?: EventRetention
}

type Entry = [id: string, fields: string[]]
/** A position inside the stream: an entry and the index of an event in its batch. */
interface Offset {
  readonly id: string
  readonly index: number
}

const DEFAULT_MAX_LENGTH = 100_000
const DEFAULT_MAX_AGE_MS = 86_400_000
const AGE_TRIM_EVERY_MS = 10_000

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
  const idle: RedisClient[] = [] // blocking connections between reads
  const busy = new Set<RedisClient>()
  let closed = false
  let lastAgeTrim = 0
  let meanBatch = 0

  const ready = async () => {
    if (closed) throw new NotConnectedError('[conveyor] [redis] event stream is closed; create a new one')
    await ensureConnected(client)
  }

  /** One entry holding a batch of `count` events (`json`: the batch as one JSON array). */
  const append = async (count: number, json: () => string): Promise<void> => {
    if (count === 0) return
    await ready()
    const now = Date.now()
    meanBatch = meanBatch === 0 ? count : meanBatch * 0.9 + count * 0.1
    const maxEntries = Math.max(1, Math.ceil(maxLength / meanBatch))
    const pipeline = client.pipeline()
    pipeline.xadd(key, 'MAXLEN', maxEntries, '*', 'e', json())
    if (now - lastAgeTrim >= AGE_TRIM_EVERY_MS) {
      lastAgeTrim = now
      pipeline.xtrim(key, 'MINID', '~', `${now - maxAgeMs}-0`)
    }
    const results = (await pipeline.exec()) ?? []
    const failed = results.find(([error]) => error !== null)
    if (failed) throw failed[0]
  }

  /** Events of the entries, after event `skip` of the first entry, at most `limit`. */
  const pageOf = (entries: Entry[], after: Offset | undefined, limit: number, emptyCursor: string): EventPage => {
    const events: StoredEvent[] = []
    let cursor = emptyCursor
    for (const [id, fields] of entries) {
      const batch = parseBatch(fields)
      for (let i = after !== undefined && id === after.id ? after.index + 1 : 0; i < batch.length; i++) {
        if (events.length >= limit) return { events, cursor }
        cursor = `${id}:${i}`
        const event = batch[i]
        if (event !== undefined) events.push({ offset: cursor, event })
      }
    }
    return { events, cursor }
  }

  /** The offset of the newest event, or `0-0:0` (before everything) on an empty stream. */
  const lastOffset = async (): Promise<string> => {
    const last = (await client.xrevrange(key, '+', '-', 'COUNT', 1)) as Entry[]
    const entry = last[0]
    return entry === undefined ? '0-0:0' : `${entry[0]}:${Math.max(0, parseBatch(entry[1]).length - 1)}`
  }

  const blockingRead = async (cursor: string, blockMs: number, signal?: AbortSignal) => {
    const reader = idle.pop() ?? duplicateClient(client, `conveyor:${prefix}:events-read`)
    busy.add(reader)
    const read = (async () => {
      await ensureConnected(reader)
      const reply = (await reader.xread(
        'COUNT',
        2,
        'BLOCK',
        Math.max(1, Math.ceil(blockMs)),
        'STREAMS',
        key,
        cursor,
      )) as [string, Entry[]][] | null
      return reply?.[0]?.[1] ?? []
    })()
    // An aborted reader stops waiting at once; the connection rejoins the pool when its XREAD ends.
    // The listener is removed when the read settles: a long-lived reader (the dashboard) reuses one signal for
    // thousands of reads, and leaving one listener per read behind grows without bound.
    let onAbort: (() => void) | undefined
    const aborted = new Promise<Entry[]>((resolve) => {
      if (signal === undefined) return
      if (signal.aborted) resolve([])
      onAbort = () => resolve([])
      signal.addEventListener('abort', onAbort, { once: true })
    })
    void read
      .catch(() => [])
      .finally(() => {
        if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
        busy.delete(reader)
        if (closed) void closeClient(reader)
        else idle.push(reader)
      })
    try {
      return await Promise.race([read, aborted])
    } catch (error) {
      if (closed) return []
      throw error
    }
  }

  return {
    name: 'redis',
    retention: { maxLength, maxAgeMs },
    async connect() {
      await ready()
    },
    async close() {
      if (closed) return
      closed = true
      await Promise.all(idle.splice(0).map(closeClient))
      for (const reader of busy) reader.disconnect()
      if (owned) await closeClient(client)
      client.off('error', onError)
    },
    publish(events) {
      return append(events.length, () => JSON.stringify(events))
    },
    publishEncoded(texts) {
      return append(texts.length, () => joinEncoded(texts))
    },
    async read(from: EventPosition, readOptions: EventReadOptions = {}) {
      const limit = readOptions.limit ?? 500
      if (!(Number.isInteger(limit) && limit >= 1)) {
        throw new InvalidOptionsError(`[redis] event read limit must be an integer ≥ 1, got ${limit}`)
      }
      const after = from !== 'start' && from !== 'end' && 'after' in from ? parseOffset(from.after) : undefined
      await ready()
      let cursor: string
      if (from === 'end') {
        cursor = await lastOffset()
      } else {
        const start =
          from === 'start'
            ? '-'
            : after !== undefined
              ? after.id
              : `${Math.max(0, Math.floor((from as { time: number }).time))}-0`
        // Entries hold batches: a few entries make a page.
        const entries = (await client.xrange(key, start, '+', 'COUNT', Math.max(2, Math.ceil(limit / 20)))) as Entry[]
        const page = pageOf(entries, after, limit, after !== undefined ? (from as { after: string }).after : '')
        if (page.events.length > 0) return page
        cursor = after !== undefined ? (from as { after: string }).after : await lastOffset()
      }
      const blockMs = readOptions.blockMs ?? 0
      if (blockMs <= 0 || readOptions.signal?.aborted) return { events: [], cursor }
      const at = parseOffset(cursor)
      return pageOf(await blockingRead(at.id, blockMs, readOptions.signal), at, limit, cursor)
    },
  }
}

function parseOffset(offset: string): Offset {
  const match = /^(\d+-\d+):(\d+)$/.exec(offset)
  if (match === null) {
    throw new InvalidOptionsError(`[redis] not an offset of this event stream: "${offset.slice(0, 80)}"`)
  }
  return { id: match[1]!, index: Number(match[2]) }
}

function parseBatch(fields: string[]): (ConveyorEvent | undefined)[] {
  const json = fields[1]
  const parsed = json === undefined ? undefined : safeJsonParse(json)
  return Array.isArray(parsed) ? (parsed as (ConveyorEvent | undefined)[]) : []
}
