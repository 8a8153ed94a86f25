import { NotConnectedError } from '@conveyor/core'
import {
  type RecordWaiter,
  type ResultWaitOptions,
  type TaskRecord,
  TERMINAL_STATES,
  waitForRecord,
} from '@conveyor/core/adapter'

/**
 * The records an RPC result backend received, in this process's memory: bounded in count (the least recently written
 * go first) and in time (each record's own ttl, capped), with waiters woken when a record turns terminal.
 */
export class RpcRecordStore {
  /** Insertion order is write order: a rewrite moves the record to the end, so eviction takes the stalest. */
  private readonly records = new Map<string, { readonly record: TaskRecord; readonly expiresAt: number }>()
  private readonly waiters = new Map<string, Set<RecordWaiter>>()
  private sweeper: NodeJS.Timeout | undefined

  constructor(
    private readonly maxRecords: number,
    private readonly maxTtlMs: number,
  ) {}

  get size(): number {
    return this.records.size
  }

  put(record: TaskRecord, ttlMs: number): void {
    this.records.delete(record.id)
    this.records.set(record.id, { record, expiresAt: Date.now() + Math.min(ttlMs, this.maxTtlMs) })
    while (this.records.size > this.maxRecords) {
      const oldest = this.records.keys().next().value
      if (oldest === undefined) break
      this.records.delete(oldest)
    }
    if (this.sweeper === undefined) {
      this.sweeper = setInterval(() => this.sweep(), 1_000)
      this.sweeper.unref()
    }
    if (TERMINAL_STATES.has(record.state)) {
      const waiting = this.waiters.get(record.id)
      if (waiting === undefined) return
      this.waiters.delete(record.id)
      for (const waiter of waiting) waiter.resolve(structuredClone(record))
    }
  }

  get(id: string): TaskRecord | undefined {
    const entry = this.records.get(id)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= Date.now()) {
      this.records.delete(id)
      return undefined
    }
    return structuredClone(entry.record)
  }

  delete(id: string): void {
    this.records.delete(id)
  }

  /** Resolve once the record is terminal: at once if it is, else when `put` brings a terminal state. */
  wait(id: string, options: ResultWaitOptions): Promise<TaskRecord> {
    const now = this.get(id)
    if (now !== undefined && TERMINAL_STATES.has(now.state)) return Promise.resolve(now)
    return waitForRecord(id, options, (waiter) => {
      let set = this.waiters.get(id)
      if (set === undefined) {
        set = new Set()
        this.waiters.set(id, set)
      }
      set.add(waiter)
      return () => {
        const current = this.waiters.get(id)
        current?.delete(waiter)
        if (current?.size === 0) this.waiters.delete(id)
      }
    })
  }

  /** Drop every record and reject the waiters: nothing can arrive for them any more. */
  close(): void {
    if (this.sweeper !== undefined) clearInterval(this.sweeper)
    this.sweeper = undefined
    this.records.clear()
    const error = new NotConnectedError('[rabbitmq] RPC result backend closed while waiting for a result')
    for (const set of [...this.waiters.values()]) for (const waiter of [...set]) waiter.reject(error)
    this.waiters.clear()
  }

  private sweep(): void {
    const now = Date.now()
    for (const [id, entry] of this.records) if (entry.expiresAt <= now) this.records.delete(id)
    if (this.records.size === 0 && this.sweeper !== undefined) {
      clearInterval(this.sweeper)
      this.sweeper = undefined
    }
  }
}
