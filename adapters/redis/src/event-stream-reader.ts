import { InvalidOptionsError } from '@conveyor/core'
import {
  type ConveyorEvent,
  type EventPage,
  type EventPosition,
  type EventReadOptions,
  type StoredEvent,
  safeJsonParse,
} from '@conveyor/core/adapter'
import { closeClient, duplicateClient, ensureConnected } from './connection'
import type { RedisClient } from './options'

type Entry = [id: string, fields: string[]]
/** A position inside the stream: an entry and the index of an event in its batch. */
interface Offset {
  readonly id: string
  readonly index: number
}

/** What the reader needs from its stream. */
export interface EventReaderSetup {
  readonly client: RedisClient
  readonly key: string
  readonly prefix: string
  /** Throws once the stream is closed; waits for the connection otherwise. */
  readonly ready: () => Promise<void>
  readonly closed: () => boolean
}

/**
 * Reads pages of events: `XRANGE` on the stream's client to catch up, `XREAD BLOCK` on connections of its own (a
 * pool, one per concurrent blocking read) to wait for new ones.
 */
export class EventReader {
  /** Blocking connections between reads. */
  private readonly idle: RedisClient[] = []
  private readonly busy = new Set<RedisClient>()

  constructor(private readonly setup: EventReaderSetup) {}

  async read(from: EventPosition, readOptions: EventReadOptions = {}): Promise<EventPage> {
    const { client, key } = this.setup
    const limit = readOptions.limit ?? 500
    if (!(Number.isInteger(limit) && limit >= 1)) {
      throw new InvalidOptionsError(`[redis] event read limit must be an integer ≥ 1, got ${limit}`)
    }
    const after = from !== 'start' && from !== 'end' && 'after' in from ? parseOffset(from.after) : undefined
    await this.setup.ready()
    let cursor: string
    if (from === 'end') {
      cursor = await this.lastOffset()
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
      cursor = after !== undefined ? (from as { after: string }).after : await this.lastOffset()
    }
    const blockMs = readOptions.blockMs ?? 0
    if (blockMs <= 0 || readOptions.signal?.aborted) return { events: [], cursor }
    const at = parseOffset(cursor)
    return pageOf(await this.blockingRead(at.id, blockMs, readOptions.signal), at, limit, cursor)
  }

  /** Close the idle blocking connections and cut the busy ones (their reads end with an empty page). */
  async close(): Promise<void> {
    await Promise.all(this.idle.splice(0).map(closeClient))
    for (const reader of this.busy) reader.disconnect()
  }

  /** The offset of the newest event, or `0-0:0` (before everything) on an empty stream. */
  private async lastOffset(): Promise<string> {
    const last = (await this.setup.client.xrevrange(this.setup.key, '+', '-', 'COUNT', 1)) as Entry[]
    const entry = last[0]
    return entry === undefined ? '0-0:0' : `${entry[0]}:${Math.max(0, parseBatch(entry[1]).length - 1)}`
  }

  private async blockingRead(cursor: string, blockMs: number, signal?: AbortSignal): Promise<Entry[]> {
    const { client, key, prefix, closed } = this.setup
    const reader = this.idle.pop() ?? duplicateClient(client, `conveyor:${prefix}:events-read`)
    this.busy.add(reader)
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
        this.busy.delete(reader)
        if (closed()) void closeClient(reader)
        else this.idle.push(reader)
      })
    try {
      return await Promise.race([read, aborted])
    } catch (error) {
      if (closed()) return []
      throw error
    }
  }
}

/** Events of the entries, after event `skip` of the first entry, at most `limit`. */
function pageOf(entries: Entry[], after: Offset | undefined, limit: number, emptyCursor: string): EventPage {
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
