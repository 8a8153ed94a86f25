import { InvalidOptionsError } from '@conveyor/core'
import {
  type ConveyorEvent,
  decodeBatchNames,
  decodeEventBatch,
  type EventPage,
  type EventPosition,
  type EventReadOptions,
  type StoredEvent,
} from '@conveyor/core/adapter'
import { closeClient, duplicateClient, ensureConnected } from './connection'
import type { RedisClient, RedisLogger } from './options'

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
  /** Told once per reader that the stream holds entries it cannot read (someone else's `XADD`). */
  readonly logger: RedisLogger
}

/** Pages fetched in one read past entries that are all unreadable, before handing back an empty page. */
const MAX_UNREADABLE_PAGES = 100

/**
 * Reads pages of events: `XRANGE` on the stream's client to catch up, `XREAD BLOCK` on connections of its own (a
 * pool, one per concurrent blocking read) to wait for new ones.
 */
export class EventReader {
  /** Blocking connections between reads. */
  private readonly idle: RedisClient[] = []
  private readonly busy = new Set<RedisClient>()
  /** Entries skipped because they hold no batch of events this reader can parse. */
  unreadableEntries = 0

  constructor(private readonly setup: EventReaderSetup) {}

  async read(from: EventPosition, readOptions: EventReadOptions = {}): Promise<EventPage> {
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
      const caughtUp = await this.catchUp(
        start,
        after,
        limit,
        after !== undefined ? (from as { after: string }).after : '',
      )
      if (typeof caughtUp !== 'string') return caughtUp
      cursor = caughtUp
    }
    const blockMs = readOptions.blockMs ?? 0
    if (blockMs <= 0 || readOptions.signal?.aborted) return { events: [], cursor }
    const at = parseOffset(cursor)
    return this.pageOf(await this.blockingRead(at.id, blockMs, readOptions.signal), at, limit, cursor)
  }

  /**
   * A page from `XRANGE`, or the cursor to wait from when there is none. An empty page means the end of the stream
   * only when it skipped nothing: a page of unreadable entries moves on past them, not to the stream's end (that
   * would drop the good events after them).
   */
  private async catchUp(
    start: string,
    after: Offset | undefined,
    limit: number,
    from: string,
  ): Promise<EventPage | string> {
    let emptyCursor = from
    for (let pages = 0; pages < MAX_UNREADABLE_PAGES; pages++) {
      // Entries hold batches: a few entries make a page.
      const count = Math.max(2, Math.ceil(limit / 20))
      const entries = (await this.setup.client.xrange(this.setup.key, start, '+', 'COUNT', count)) as Entry[]
      const page = this.pageOf(entries, after, limit, emptyCursor)
      if (page.events.length > 0) return page
      // Nothing at or after `start`: wait from just before it. Not from the stream's end, which an entry appended
      // since the XRANGE above would already be part of (its events then behind the cursor, never returned).
      if (page.cursor === emptyCursor) return from !== '' ? from : justBefore(start)
      emptyCursor = page.cursor
      after = parseOffset(page.cursor)
      start = after.id
    }
    return emptyCursor
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
    return entry === undefined ? '0-0:0' : `${entry[0]}:${Math.max(0, (parseBatch(entry[1])?.length ?? 0) - 1)}`
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
  /**
   * Events of the entries after `after`, at most `limit`. An entry that holds no batch (garbage someone else wrote to
   * the key) is skipped with its position kept (`<id>:0`), so the cursor moves past it instead of failing every read.
   */
  private pageOf(entries: Entry[], after: Offset | undefined, limit: number, emptyCursor: string): EventPage {
    const events: StoredEvent[] = []
    let cursor = emptyCursor
    for (const [id, fields] of entries) {
      const batch = parseBatch(fields)
      if (batch === undefined) {
        if (after !== undefined && id === after.id) continue
        if (events.length >= limit) return { events, cursor }
        cursor = `${id}:0`
        this.skipped(id)
        continue
      }
      for (let i = after !== undefined && id === after.id ? after.index + 1 : 0; i < batch.length; i++) {
        if (events.length >= limit) return { events, cursor }
        cursor = `${id}:${i}`
        const event = batch[i]
        if (event !== undefined) events.push({ offset: cursor, event })
      }
    }
    return { events, cursor }
  }

  private skipped(id: string): void {
    this.unreadableEntries++
    // Once per reader: the entry's contents stay out of the log (they are someone else's, and may be anything).
    if (this.unreadableEntries === 1) {
      this.setup.logger.warn(
        { entry: id },
        '[conveyor] [redis] skipped an event stream entry that is not a batch of events; later ones are skipped quietly',
      )
    }
  }
}

/** The largest sequence number of a stream entry id. */
const MAX_SEQUENCE = '18446744073709551615'

/** A cursor before every entry at or after `start` (`-` or `<ms>-0`): the next read returns them all. */
function justBefore(start: string): string {
  const ms = start === '-' ? 0 : Number(start.slice(0, start.indexOf('-')))
  return ms > 0 ? `${ms - 1}-${MAX_SEQUENCE}:0` : '0-0:0'
}

function parseOffset(offset: string): Offset {
  const match = /^(\d+-\d+):(\d+)$/.exec(offset)
  if (match === null) {
    throw new InvalidOptionsError(`[redis] not an offset of this event stream: "${offset.slice(0, 80)}"`)
  }
  return { id: match[1]!, index: Number(match[2]) }
}

/** The entry's batch, or undefined for an entry this stream's writer did not write. */
function parseBatch(fields: string[]): (ConveyorEvent | undefined)[] | undefined {
  let json: string | undefined
  let names: string | undefined
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'e') json = fields[i + 1]
    else if (fields[i] === 'n') names = fields[i + 1]
  }
  if (json === undefined) return undefined
  try {
    return decodeEventBatch(json, decodeBatchNames(names))
  } catch {
    return undefined
  }
}
