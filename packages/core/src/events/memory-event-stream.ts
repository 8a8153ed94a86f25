import type {
  ConveyorEvent,
  EventPage,
  EventPosition,
  EventReadOptions,
  EventRetention,
  EventStream,
  StoredEvent,
} from '../contracts/event-stream'
import { InvalidOptionsError } from '../errors/invalid-options-error'

export interface MemoryEventStreamOptions {
  /** Defaults to 100,000 events and 24 hours. */
  readonly retention?: EventRetention
}

interface Entry {
  readonly seq: number
  readonly at: number
  readonly event: ConveyorEvent
}

const DEFAULT_MAX_LENGTH = 100_000
const DEFAULT_MAX_AGE_MS = 86_400_000

/**
 * An event stream in process memory: the reference implementation of `EventStream`, and the memory broker's stream
 * (shared by every app on the same `MemoryStore`). Events are stored as structured clones, as a networked stream
 * would, so a reader never sees a publisher's later mutation.
 */
export function createMemoryEventStream(options: MemoryEventStreamOptions = {}): EventStream {
  const maxLength = options.retention?.maxLength ?? DEFAULT_MAX_LENGTH
  const maxAgeMs = options.retention?.maxAgeMs ?? DEFAULT_MAX_AGE_MS
  if (!(Number.isInteger(maxLength) && maxLength >= 1)) {
    throw new InvalidOptionsError(`[memory] event stream retention.maxLength must be an integer ≥ 1, got ${maxLength}`)
  }
  if (!(maxAgeMs > 0)) throw new InvalidOptionsError(`[memory] event stream retention.maxAgeMs must be > 0`)
  const entries: Entry[] = []
  let head = 0 // entries[head] is the oldest retained (a moving start avoids shifting the array on every trim)
  let seq = 0
  const waiters = new Set<() => void>()

  const trim = (now: number) => {
    while (entries.length - head > maxLength) head++
    while (head < entries.length && entries[head]!.at < now - maxAgeMs) head++
    if (head > 1024 && head * 2 > entries.length) {
      entries.splice(0, head)
      head = 0
    }
  }

  /** Index of the first entry to return for `from`. */
  const startIndex = (from: EventPosition): number => {
    if (from === 'start') return head
    if (from === 'end') return entries.length
    if ('time' in from) {
      let i = head
      while (i < entries.length && entries[i]!.at < from.time) i++
      return i
    }
    const after = Number(from.after)
    if (!Number.isInteger(after) || after < 0) {
      throw new InvalidOptionsError(`[memory] not an offset of this event stream: "${from.after}"`)
    }
    // Sequence numbers are dense: the entry with seq n sits at index n - 1 - (seq of entries[0] - 1).
    const first = entries[0]?.seq ?? seq + 1
    return Math.max(head, Math.min(entries.length, after - first + 1))
  }

  const page = (from: number, limit: number): EventPage => {
    const events: StoredEvent[] = []
    for (let i = from; i < entries.length && events.length < limit; i++) {
      const entry = entries[i]!
      events.push({ offset: String(entry.seq), event: structuredClone(entry.event) })
    }
    const last = events.at(-1)
    return { events, cursor: last?.offset ?? String(cursorBefore(from)) }
  }

  /** The cursor of an empty page starting at index `from`: the seq just before it. */
  const cursorBefore = (from: number): number => (from < entries.length ? entries[from]!.seq - 1 : seq)

  return {
    name: 'memory',
    retention: { maxLength, maxAgeMs },
    async connect() {},
    async close() {
      for (const wake of waiters) wake()
    },
    async publish(events) {
      const now = Date.now()
      for (const event of events) entries.push({ seq: ++seq, at: now, event: structuredClone(event) })
      trim(now)
      for (const wake of [...waiters]) wake()
    },
    async read(from, readOptions: EventReadOptions = {}) {
      const limit = readOptions.limit ?? 500
      if (!(Number.isInteger(limit) && limit >= 1)) {
        throw new InvalidOptionsError(`[memory] read limit must be an integer ≥ 1, got ${limit}`)
      }
      trim(Date.now())
      const index = startIndex(from)
      const blockMs = readOptions.blockMs ?? 0
      if (index < entries.length || blockMs <= 0 || readOptions.signal?.aborted) return page(index, limit)
      // Wait for the next publish; positions are re-resolved as an offset so trimming meanwhile cannot skip events.
      const cursor = String(cursorBefore(index))
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer)
          waiters.delete(done)
          readOptions.signal?.removeEventListener('abort', done)
          resolve()
        }
        const timer = setTimeout(done, blockMs)
        waiters.add(done)
        readOptions.signal?.addEventListener('abort', done)
      })
      return page(startIndex({ after: cursor }), limit)
    },
  }
}
