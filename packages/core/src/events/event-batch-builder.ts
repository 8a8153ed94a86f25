import type { ConveyorEvent, EncodedEventBatch } from '../contracts/event-stream'
import { encodeEvent } from './encode-event'
import { PAIR_ROW } from './event-rows'

type Started = Extract<ConveyorEvent, { type: 'task.started' }>
type Succeeded = Extract<ConveyorEvent, { type: 'task.succeeded' }>

const COMMA = 0x2c
const QUOTE = 0x22
const BACKSLASH = 0x5c
const MIN_CAPACITY = 16 * 1024
/** Room for the fixed parts of a pair row: 14 separators, 12 numbers of up to 25 characters, brackets. */
const ROW_FIXED_BYTES = 512

/**
 * Builds one batch of events as the UTF-8 bytes of a JSON array, for a stream that stores batches
 * (`EventStream.publishBatch`), writing each event as it comes instead of keeping a string per event to join at the
 * flush: at concurrency 50 a Redis worker spent more on joining 500 per-event strings it had made milliseconds before
 * (cold in the cache by then) and on sending them than on everything else events need.
 *
 * A `task.started` is held until its run's next event or the end of the batch (or the next one, see `take`): when that
 * event is the same attempt's `task.succeeded` — almost always, at high throughput — both are written as one pair row
 * (event-rows.ts), about a sixth of the bytes of the two events. Anything else about the run writes the held
 * `task.started` first, so each run's events stay in order; events of different runs may be reordered (a held start
 * moves after other runs' events), which the stream's contract allows.
 */
export class EventBatchBuilder {
  private bytes: Buffer = Buffer.allocUnsafeSlow(MIN_CAPACITY)
  private offset = 0
  private count = 0
  private names = new Map<string, number>()
  private readonly lastNames: (string | undefined)[] = [undefined, undefined, undefined]
  private readonly lastIndexes = [0, 0, 0]
  private readonly held = new Map<string, Started>()

  /** Events taken since the last `take()`. */
  get size(): number {
    return this.count
  }

  /** Take one event. Throws (taking nothing) only when it does not serialize. */
  add(event: ConveyorEvent): void {
    if (event.type === 'task.started') {
      const before = this.held.get(event.id)
      if (before !== undefined) this.writeEvent(before)
      this.held.set(event.id, event)
      this.count++
      return
    }
    if (!('id' in event)) {
      this.writeText(encodeEvent(event))
      this.count++
      return
    }
    const started = this.held.get(event.id)
    if (started !== undefined) {
      this.held.delete(event.id)
      if (event.type === 'task.succeeded' && pairs(started, event)) {
        this.writePair(started, event)
        this.count++
        return
      }
      const text = encodeEvent(event) // before the held start is written: a throw leaves the batch as it was
      this.writeEvent(started)
      this.writeText(text)
    } else {
      this.writeText(encodeEvent(event))
    }
    this.count++
  }

  /**
   * The batch so far, or undefined when it holds no event. Held starts are written last, except those begun between
   * `carry.since` and `carry.until` (the run is likely to succeed within the next batch, and one row is cheaper than
   * two events), which stay held for the next batch — unless more than `carry.max` are held. A start stamped after
   * `until` (the clock was set back) is written, so it cannot be carried for as long as the clock is behind.
   */
  take(carry?: {
    readonly since: number
    readonly until: number
    readonly max: number
  }): EncodedEventBatch | undefined {
    for (const [id, started] of this.held) {
      const young = carry !== undefined && started.at >= carry.since && started.at <= carry.until
      if (young && this.held.size <= carry.max) continue
      this.writeEvent(started)
      this.held.delete(id)
    }
    const written = this.count - this.held.size
    if (written === 0) return undefined
    const batch: EncodedEventBatch = { bytes: this.closeArray(), count: written, names: [...this.names.keys()] }
    // The batch keeps its buffer until the stream has written it: the next batch gets a new one, sized like this one.
    this.bytes = Buffer.allocUnsafeSlow(Math.max(MIN_CAPACITY, this.offset + (this.offset >> 2)))
    this.offset = 0
    this.count = this.held.size
    this.names = new Map()
    this.lastNames.fill(undefined)
    return batch
  }

  /** Only called with at least one item written: its separator becomes the closing bracket. */
  private closeArray(): Buffer {
    this.bytes[this.offset - 1] = 0x5d
    return this.bytes.subarray(0, this.offset)
  }

  private open(room: number): void {
    this.ensure(room + 2)
    if (this.offset === 0) this.bytes[this.offset++] = 0x5b
  }

  private writeEvent(event: ConveyorEvent): void {
    this.writeText(encodeEvent(event))
  }

  private writeText(text: string): void {
    this.open(text.length * 3)
    this.offset += this.bytes.write(text, this.offset, 'utf8')
    this.bytes[this.offset++] = COMMA
  }

  private writePair(started: Started, succeeded: Succeeded): void {
    const result = succeeded.result
    this.open(ROW_FIXED_BYTES + started.id.length * 6 + (result === undefined ? 0 : result.length * 6))
    this.byte(0x5b)
    this.number(PAIR_ROW)
    this.string(started.id)
    this.number(this.nameIndex(started.task, 0))
    this.number(this.nameIndex(started.queue, 1))
    this.number(started.worker === undefined ? -1 : this.nameIndex(started.worker, 2))
    this.number(started.attempt)
    this.number(started.at)
    this.number(started.deliveryCount)
    // Times after the start as differences from it: short numbers to write and to store.
    this.number(started.at - started.enqueuedAt)
    if (started.notBefore === undefined) this.nullValue()
    else this.number(started.at - started.notBefore)
    this.number(succeeded.at - started.at)
    this.number(succeeded.durationMs)
    if (result !== undefined) {
      this.string(result)
      if (succeeded.resultTruncated === true) this.number(1)
    }
    // The separator after the row's last value becomes its closing bracket, then the separator after the row.
    this.bytes[this.offset - 1] = 0x5d
    this.byte(COMMA)
  }

  /** `slot`: 0 task, 1 queue, 2 worker; rows mostly repeat the last row's names, so each slot remembers its last. */
  private nameIndex(name: string, slot: 0 | 1 | 2): number {
    if (name === this.lastNames[slot]) return this.lastIndexes[slot]!
    let index = this.names.get(name)
    if (index === undefined) {
      index = this.names.size
      this.names.set(name, index)
    }
    this.lastNames[slot] = name
    this.lastIndexes[slot] = index
    return index
  }

  /**
   * A JSON string and the separator after it. Printable ASCII without quotes or backslashes (ids, names, most
   * results) is copied as it is, checked on the way; anything else goes through `JSON.stringify`.
   */
  private string(value: string): void {
    const bytes = this.bytes
    const start = this.offset
    let at = start
    bytes[at++] = QUOTE
    for (let i = 0; i < value.length; i++) {
      const code = value.charCodeAt(i)
      if (code < 0x20 || code > 0x7e || code === QUOTE || code === BACKSLASH) {
        this.offset = start + bytes.write(JSON.stringify(value), start, 'utf8')
        this.byte(COMMA)
        return
      }
      bytes[at++] = code
    }
    bytes[at++] = QUOTE
    bytes[at++] = COMMA
    this.offset = at
  }

  /** A JSON number (null when not finite, as `JSON.stringify` writes it) and the separator after it. */
  private number(value: number): void {
    if ((value | 0) === value && value >= 0) this.small(value)
    else if (Number.isSafeInteger(value) && value >= 0) this.digits(value)
    else if (Number.isFinite(value)) this.ascii(String(value))
    else {
      this.nullValue()
      return
    }
    this.byte(COMMA)
  }

  /** `null` and the separator after it. */
  private nullValue(): void {
    const bytes = this.bytes
    let at = this.offset
    bytes[at++] = 0x6e
    bytes[at++] = 0x75
    bytes[at++] = 0x6c
    bytes[at++] = 0x6c
    bytes[at++] = COMMA
    this.offset = at
  }

  /**
   * A safe integer ≥ 2³¹ in decimal, without making a string. Times (13 digits) are split in two parts that fit 31
   * bits, so every division is an integer one: `String(n)` and a float loop cost four to six times as much.
   */
  private digits(value: number): void {
    const high = Math.floor(value / 1e8)
    this.small(high)
    let low = value - high * 1e8
    let at = this.offset + 7
    for (let i = 0; i < 8; i++) {
      const rest = (low / 10) | 0
      this.bytes[at--] = 0x30 + (low - rest * 10)
      low = rest
    }
    this.offset += 8
  }

  /** 0 ≤ value < 2³¹. */
  private small(value: number): void {
    let width = 1
    for (let bound = 10; width < 10 && value >= bound; bound *= 10) width++
    let at = this.offset + width - 1
    let rest = value
    do {
      const next = (rest / 10) | 0
      this.bytes[at--] = 0x30 + (rest - next * 10)
      rest = next
    } while (rest > 0)
    this.offset += width
  }

  private ascii(text: string): void {
    this.offset += this.bytes.write(text, this.offset, 'latin1')
  }

  private byte(value: number): void {
    this.bytes[this.offset++] = value
  }

  /** Room for `more` bytes after the offset (grows by copying: a batch outgrows the last one's size only rarely). */
  private ensure(more: number): void {
    if (this.offset + more <= this.bytes.length) return
    const grown = Buffer.allocUnsafeSlow(Math.max(this.bytes.length * 2, this.offset + more))
    this.bytes.copy(grown, 0, 0, this.offset)
    this.bytes = grown
  }
}

/**
 * A start and a success that one pair row holds: the same attempt of the same run, from the same worker, with times
 * that are whole milliseconds ≥ 0 (the row stores differences, which must give the times back exactly).
 */
function pairs(started: Started, succeeded: Succeeded): boolean {
  return (
    started.attempt === succeeded.attempt &&
    started.worker === succeeded.worker &&
    started.task === succeeded.task &&
    started.queue === succeeded.queue &&
    (succeeded.result !== undefined || succeeded.resultTruncated !== true) &&
    isTime(started.at) &&
    isTime(started.enqueuedAt) &&
    isTime(succeeded.at) &&
    (started.notBefore === undefined || isTime(started.notBefore))
  )
}

function isTime(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0
}
