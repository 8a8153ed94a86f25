import type { EventReadOptions, EventRetention, EventStream } from '../contracts/event-stream'
import { InvalidOptionsError } from '../errors/invalid-options-error'
import { MemoryEventLog } from './memory-event-log'

export interface MemoryEventStreamOptions {
  /** Defaults to 100,000 events and 24 hours. */
  readonly retention?: EventRetention
}

const DEFAULT_MAX_LENGTH = 100_000
const DEFAULT_MAX_AGE_MS = 86_400_000

/**
 * An event stream in process memory: the reference implementation of `EventStream`, and the memory broker's stream
 * (shared by every app on the same `MemoryStore`). Events are stored as structured clones (see `MemoryEventLog`).
 */
export function createMemoryEventStream(options: MemoryEventStreamOptions = {}): EventStream {
  const maxLength = options.retention?.maxLength ?? DEFAULT_MAX_LENGTH
  const maxAgeMs = options.retention?.maxAgeMs ?? DEFAULT_MAX_AGE_MS
  if (!(Number.isInteger(maxLength) && maxLength >= 1)) {
    throw new InvalidOptionsError(`[memory] event stream retention.maxLength must be an integer ≥ 1, got ${maxLength}`)
  }
  if (!(maxAgeMs > 0)) throw new InvalidOptionsError(`[memory] event stream retention.maxAgeMs must be > 0`)
  const log = new MemoryEventLog(maxLength, maxAgeMs)
  const waiters = new Set<() => void>()
  return {
    name: 'memory',
    retention: { maxLength, maxAgeMs },
    async connect() {},
    async close() {
      for (const wake of waiters) wake()
    },
    async publish(events) {
      log.append(events, Date.now())
      for (const wake of [...waiters]) wake()
    },
    async read(from, readOptions: EventReadOptions = {}) {
      const limit = readOptions.limit ?? 500
      if (!(Number.isInteger(limit) && limit >= 1)) {
        throw new InvalidOptionsError(`[memory] read limit must be an integer ≥ 1, got ${limit}`)
      }
      log.trim(Date.now())
      const index = log.startIndex(from)
      const blockMs = readOptions.blockMs ?? 0
      if (index < log.end || blockMs <= 0 || readOptions.signal?.aborted) return log.page(index, limit)
      // Wait for the next publish; positions are re-resolved as an offset so trimming meanwhile cannot skip events.
      const cursor = String(log.cursorBefore(index))
      await nextPublish(waiters, blockMs, readOptions.signal)
      return log.page(log.startIndex({ after: cursor }), limit)
    },
  }
}

/** Resolves at the next publish (or close), after `blockMs`, or when `signal` aborts, whichever comes first. */
function nextPublish(waiters: Set<() => void>, blockMs: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer)
      waiters.delete(done)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, blockMs)
    waiters.add(done)
    signal?.addEventListener('abort', done)
  })
}
