import { EventEmitter } from 'node:events'
import type { ResultWaitOptions, TaskRecord } from '../contracts/result-backend'
import { TERMINAL_STATES } from '../contracts/result-backend'
import { type RecordWaiter, waitForRecord } from './wait-for-record'

/**
 * The memory result backend's records: a map with expiry (swept while anything is stored), and waiters woken by an
 * emitter when a record reaches a terminal state (no polling). Records go in and come out as structured clones, as
 * with a networked backend: later mutation of the caller's object is not seen.
 */
export class MemoryRecords {
  private readonly records = new Map<string, { record: TaskRecord; expiresAt: number }>()
  private readonly wake = new EventEmitter()
  private sweeper: NodeJS.Timeout | undefined
  /** Waits in progress, so that closing the backend ends them (as the networked backends do). */
  private readonly waiters = new Set<RecordWaiter>()

  constructor() {
    this.wake.setMaxListeners(0)
  }

  /** The live record, not a copy; expired ones are dropped on the way. */
  read(id: string): TaskRecord | undefined {
    const entry = this.records.get(id)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= Date.now()) {
      this.records.delete(id)
      return undefined
    }
    return entry.record
  }

  set(record: TaskRecord, ttlMs: number): void {
    this.records.set(record.id, { record: structuredClone(record), expiresAt: Date.now() + ttlMs })
    if (this.sweeper === undefined) {
      this.sweeper = setInterval(() => this.sweep(), 1000)
      this.sweeper.unref()
    }
    if (TERMINAL_STATES.has(record.state)) this.wake.emit(record.id)
  }

  delete(id: string): void {
    this.records.delete(id)
  }

  /** End every wait in progress with `error` (the backend closed). */
  rejectWaiters(error: Error): void {
    for (const waiter of [...this.waiters]) waiter.reject(error)
  }

  stopSweeping(): void {
    if (this.sweeper !== undefined) clearInterval(this.sweeper)
    this.sweeper = undefined
  }

  /** Resolves with a copy of the record once it is terminal; rejects on timeout or abort. */
  wait(id: string, options: ResultWaitOptions): Promise<TaskRecord> {
    return waitForRecord(id, options, (waiter) => {
      const onWake = () => {
        const record = this.read(id)
        if (record && TERMINAL_STATES.has(record.state)) waiter.resolve(structuredClone(record))
      }
      this.wake.on(id, onWake)
      this.waiters.add(waiter)
      onWake()
      return () => {
        this.wake.off(id, onWake)
        this.waiters.delete(waiter)
      }
    })
  }

  private sweep(): void {
    const now = Date.now()
    for (const [id, entry] of this.records) if (entry.expiresAt <= now) this.records.delete(id)
    if (this.records.size === 0) this.stopSweeping()
  }
}
