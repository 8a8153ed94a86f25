import {
  type RecordWaiter,
  type ResultWaitOptions,
  type TaskRecord,
  TERMINAL_STATES,
  waitForRecord,
} from '@conveyor/core/adapter'

/** What a backend does around the waiters of one id. */
export interface WaitHooks {
  /** When the first waiter of an id arrives: subscribe, then read what is there already. */
  readonly onFirst: () => Promise<void>
  /** When the last waiter of an id is gone: unsubscribe. */
  readonly onLast?: () => void
}

/**
 * Callers of `ResultBackend.wait`, by task id. The backend calls `deliver` when a record arrives (pub/sub message,
 * RPC reply, a read after subscribing); terminal records wake and remove every waiter of that id.
 */
export class Waiters {
  private readonly byId = new Map<string, Set<RecordWaiter>>()
  private readonly onLast = new Map<string, (() => void) | undefined>()

  /** Wait for a terminal record of `id`, with the backend's `hooks` run for the first and the last waiter of an id. */
  wait(id: string, options: ResultWaitOptions, { onFirst, onLast }: WaitHooks): Promise<TaskRecord> {
    return waitForRecord(id, options, (waiter) => {
      let set = this.byId.get(id)
      const first = set === undefined
      if (set === undefined) {
        set = new Set()
        this.byId.set(id, set)
        this.onLast.set(id, onLast)
      }
      const joined = set
      joined.add(waiter)
      if (first) onFirst().catch((error: unknown) => waiter.reject(error))
      // A waiter that leaves (timed out, aborted, failed) is removed; the last one out runs `onLast`.
      return () => {
        if (this.byId.get(id) === joined && joined.delete(waiter) && joined.size === 0) this.drop(id)
      }
    })
  }

  /** A record arrived: wake the waiters of its id when it is terminal. Returns whether anybody was waiting. */
  deliver(record: TaskRecord): boolean {
    const set = this.byId.get(record.id)
    if (set === undefined) return false
    if (TERMINAL_STATES.has(record.state)) {
      this.drop(record.id)
      for (const waiter of set) waiter.resolve(record)
    }
    return true
  }

  private drop(id: string): void {
    this.byId.delete(id)
    const onLast = this.onLast.get(id)
    this.onLast.delete(id)
    onLast?.()
  }

  /** Reject everybody (backend closed). */
  rejectAll(error: unknown): void {
    const sets = [...this.byId.values()]
    // Cleared first: the waiters rejected here leave nothing to unregister, and no `onLast` runs.
    this.byId.clear()
    this.onLast.clear()
    for (const set of sets) for (const waiter of set) waiter.reject(error)
  }
}
