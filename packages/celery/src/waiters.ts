import { ResultTimeoutError } from '@conveyor/core'
import { type ResultWaitOptions, type TaskRecord, TERMINAL_STATES } from '@conveyor/core/adapter'

/** What a backend does around the waiters of one id. */
export interface WaitHooks {
  /** When the first waiter of an id arrives: subscribe, then read what is there already. */
  readonly onFirst: () => Promise<void>
  /** When the last waiter of an id is gone: unsubscribe. */
  readonly onLast?: () => void
}

interface Waiter {
  resolve(record: TaskRecord): void
  reject(error: unknown): void
}

/**
 * Callers of `ResultBackend.wait`, by task id. The backend calls `deliver` when a record arrives (pub/sub message,
 * RPC reply, a read after subscribing); terminal records wake and remove every waiter of that id.
 */
export class Waiters {
  private readonly byId = new Map<string, Set<Waiter>>()
  private readonly onLast = new Map<string, (() => void) | undefined>()

  /** Wait for a terminal record of `id`, with the backend's `hooks` run for the first and the last waiter of an id. */
  wait(id: string, options: ResultWaitOptions, { onFirst, onLast }: WaitHooks): Promise<TaskRecord> {
    return new Promise<TaskRecord>((resolve, reject) => {
      if (options.signal?.aborted) {
        reject(options.signal.reason)
        return
      }
      const cleanup = () => {
        clearTimeout(timer)
        options.signal?.removeEventListener('abort', onAbort)
      }
      const waiter: Waiter = {
        resolve: (record) => {
          cleanup()
          resolve(record)
        },
        reject: (error) => {
          cleanup()
          reject(error)
        },
      }
      const leave = (error: unknown) => {
        const set = this.byId.get(id)
        if (set?.delete(waiter) && set.size === 0) this.drop(id)
        waiter.reject(error)
      }
      const onAbort = () => leave(options.signal?.reason ?? new Error('aborted'))
      const timer = setTimeout(() => leave(new ResultTimeoutError(id, options.timeoutMs)), options.timeoutMs)
      options.signal?.addEventListener('abort', onAbort, { once: true })
      let set = this.byId.get(id)
      const first = set === undefined
      if (set === undefined) {
        set = new Set()
        this.byId.set(id, set)
        this.onLast.set(id, onLast)
      }
      set.add(waiter)
      if (first) onFirst().catch((error: unknown) => leave(error))
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
    for (const set of this.byId.values()) for (const waiter of set) waiter.reject(error)
    this.byId.clear()
    this.onLast.clear()
  }
}
