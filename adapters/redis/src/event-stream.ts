import {
  type ConveyorEvent,
  type EventPage,
  type EventPosition,
  type EventReadOptions,
  type EventRetention,
  type EventStream,
  InvalidOptionsError,
  NotConnectedError,
  type StoredEvent,
  safeJsonParse,
} from '@conveyor/core'
import { closeClient, duplicateClient, ensureConnected, openClient, splitUrl } from './connection'
import type { RedisClient, RedisConnectionOptions } from './options'

export interface RedisEventStreamOptions extends RedisConnectionOptions {
  /** Defaults to about 100,000 events (`XADD MAXLEN ~`) and 24 hours (`XTRIM MINID ~`, at most every 10 s). */
  readonly retention?: EventRetention
}

type Entry = [id: string, fields: string[]]

const DEFAULT_MAX_LENGTH = 100_000
const DEFAULT_MAX_AGE_MS = 86_400_000
const AGE_TRIM_EVERY_MS = 10_000

/** Key of an app's event stream: its own hash tag, apart from the queues'. */
export function eventStreamKey(prefix: string): string {
  return `{${prefix}:events}:stream`
}

/**
 * The app's events in one capped Redis stream (`XADD … MAXLEN ~`), so any process can read them from any retained
 * offset: `XRANGE` for catching up, `XREAD BLOCK` on a connection of its own for waiting. Offsets are stream entry
 * ids (`<ms>-<seq>`), so `{ time }` positions need no index.
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

  const ready = async () => {
    if (closed) throw new NotConnectedError('[conveyor] [redis] event stream is closed; create a new one')
    await ensureConnected(client)
  }

  const toStored = ([offset, fields]: Entry): StoredEvent | undefined => {
    const json = fields[1]
    const event = json === undefined ? undefined : (safeJsonParse(json) as ConveyorEvent | undefined)
    return event === undefined ? undefined : { offset, event }
  }

  const pageOf = (entries: Entry[], emptyCursor: string): EventPage => {
    const events: StoredEvent[] = []
    for (const entry of entries) {
      const stored = toStored(entry)
      if (stored !== undefined) events.push(stored)
    }
    return { events, cursor: entries.at(-1)?.[0] ?? emptyCursor }
  }

  const lastId = async (): Promise<string> => {
    const last = (await client.xrevrange(key, '+', '-', 'COUNT', 1)) as Entry[]
    return last[0]?.[0] ?? '0-0'
  }

  const blockingRead = async (cursor: string, limit: number, blockMs: number, signal?: AbortSignal) => {
    const reader = idle.pop() ?? duplicateClient(client, `conveyor:${prefix}:events-read`)
    busy.add(reader)
    const read = (async () => {
      await ensureConnected(reader)
      const reply = (await reader.xread(
        'COUNT',
        limit,
        'BLOCK',
        Math.max(1, Math.ceil(blockMs)),
        'STREAMS',
        key,
        cursor,
      )) as [string, Entry[]][] | null
      return reply?.[0]?.[1] ?? []
    })()
    // An aborted reader stops waiting at once; the connection rejoins the pool when its XREAD ends.
    const aborted = new Promise<Entry[]>((resolve) => {
      if (signal === undefined) return
      if (signal.aborted) resolve([])
      signal.addEventListener('abort', () => resolve([]), { once: true })
    })
    void read
      .catch(() => [])
      .finally(() => {
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
    async publish(events) {
      if (events.length === 0) return
      await ready()
      const now = Date.now()
      const pipeline = client.pipeline()
      for (const event of events) pipeline.xadd(key, 'MAXLEN', '~', maxLength, '*', 'e', JSON.stringify(event))
      if (now - lastAgeTrim >= AGE_TRIM_EVERY_MS) {
        lastAgeTrim = now
        pipeline.xtrim(key, 'MINID', '~', `${now - maxAgeMs}-0`)
      }
      const results = (await pipeline.exec()) ?? []
      const failed = results.find(([error]) => error !== null)
      if (failed) throw failed[0]
    },
    async read(from: EventPosition, readOptions: EventReadOptions = {}) {
      const limit = readOptions.limit ?? 500
      if (!(Number.isInteger(limit) && limit >= 1)) {
        throw new InvalidOptionsError(`[redis] event read limit must be an integer ≥ 1, got ${limit}`)
      }
      await ready()
      let cursor: string
      if (from === 'end') {
        cursor = await lastId()
      } else {
        const start =
          from === 'start'
            ? '-'
            : 'after' in from
              ? `(${checkOffset(from.after)}`
              : `${Math.max(0, Math.floor(from.time))}-0`
        const entries = (await client.xrange(key, start, '+', 'COUNT', limit)) as Entry[]
        if (entries.length > 0) return pageOf(entries, '')
        cursor = from !== 'start' && 'after' in from ? from.after : await lastId()
      }
      const blockMs = readOptions.blockMs ?? 0
      if (blockMs <= 0 || readOptions.signal?.aborted) return { events: [], cursor }
      return pageOf(await blockingRead(cursor, limit, blockMs, readOptions.signal), cursor)
    },
  }
}

function checkOffset(offset: string): string {
  if (!/^\d+-\d+$/.test(offset)) {
    throw new InvalidOptionsError(`[redis] not an offset of this event stream: "${offset.slice(0, 80)}"`)
  }
  return offset
}
