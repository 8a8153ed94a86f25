import type { ConveyorEvent, EventPage, EventPosition, StoredEvent } from '../contracts/event-stream'
import { InvalidOptionsError } from '../errors/invalid-options-error'

interface Entry {
  readonly seq: number
  readonly at: number
  readonly event: ConveyorEvent
}

/**
 * The memory event stream's storage: events with dense sequence numbers (their offsets), trimmed by length and age.
 * Events are stored as structured clones, as a networked stream would, so a reader never sees a publisher's later
 * mutation.
 */
export class MemoryEventLog {
  private readonly entries: Entry[] = []
  /** entries[head] is the oldest retained (a moving start avoids shifting the array on every trim). */
  private head = 0
  private seq = 0

  constructor(
    private readonly maxLength: number,
    private readonly maxAgeMs: number,
  ) {}

  /** Index just past the newest entry: where the next publish lands. */
  get end(): number {
    return this.entries.length
  }

  append(events: readonly ConveyorEvent[], now: number): void {
    for (const event of events) this.entries.push({ seq: ++this.seq, at: now, event: structuredClone(event) })
    this.trim(now)
  }

  trim(now: number): void {
    const { entries } = this
    while (entries.length - this.head > this.maxLength) this.head++
    while (this.head < entries.length && entries[this.head]!.at < now - this.maxAgeMs) this.head++
    if (this.head > 1024 && this.head * 2 > entries.length) {
      entries.splice(0, this.head)
      this.head = 0
    }
  }

  /** Index of the first entry to return for `from`. */
  startIndex(from: EventPosition): number {
    const { entries } = this
    if (from === 'start') return this.head
    if (from === 'end') return entries.length
    if ('time' in from) {
      let i = this.head
      while (i < entries.length && entries[i]!.at < from.time) i++
      return i
    }
    const after = Number(from.after)
    if (!Number.isInteger(after) || after < 0) {
      throw new InvalidOptionsError(`[memory] not an offset of this event stream: "${from.after}"`)
    }
    // Sequence numbers are dense: the entry with seq n sits at index n - 1 - (seq of entries[0] - 1).
    const first = entries[0]?.seq ?? this.seq + 1
    return Math.max(this.head, Math.min(entries.length, after - first + 1))
  }

  page(from: number, limit: number): EventPage {
    const events: StoredEvent[] = []
    for (let i = from; i < this.entries.length && events.length < limit; i++) {
      const entry = this.entries[i]!
      events.push({ offset: String(entry.seq), event: structuredClone(entry.event) })
    }
    const last = events.at(-1)
    return { events, cursor: last?.offset ?? String(this.cursorBefore(from)) }
  }

  /** The cursor of an empty page starting at index `from`: the seq just before it. */
  cursorBefore(from: number): number {
    return from < this.entries.length ? this.entries[from]!.seq - 1 : this.seq
  }
}
