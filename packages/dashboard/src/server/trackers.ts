import type { ConveyorEvent } from '@conveyor/core'
import type { WorkerHeartbeat } from '@conveyor/core/adapter'

/** Most runs tracked per queue for the oldest-waiting age (past it, newer ones are not added: the oldest stay). */
const MAX_PENDING_PER_QUEUE = 50_000

/**
 * Runs enqueued and not started yet, per queue, from the events: gives the age of the oldest waiting run without a
 * broker call. Knows only runs enqueued while the dashboard was reading.
 */
export class PendingTracker {
  private readonly queues = new Map<string, Map<string, number>>()

  record(event: ConveyorEvent): void {
    if (!event.type.startsWith('task.') || !('queue' in event)) return
    const pending = this.queues.get(event.queue)
    if (event.type === 'task.enqueued' || event.type === 'task.replayed' || event.type === 'task.retried') {
      const map = pending ?? new Map<string, number>()
      if (pending === undefined) this.queues.set(event.queue, map)
      if (map.size >= MAX_PENDING_PER_QUEUE) return
      // A delayed run (or a retry's backoff) waits from when it becomes due.
      const due =
        event.type === 'task.enqueued'
          ? Math.max(event.at, event.notBefore ?? 0)
          : event.type === 'task.retried'
            ? event.at + event.delayMs
            : event.at
      map.delete(event.id)
      map.set(event.id, due)
      return
    }
    pending?.delete(event.id)
  }

  /** Epoch milliseconds since which the oldest due run of `queue` waits, if any. */
  oldest(queue: string, now = Date.now()): number | undefined {
    let oldest: number | undefined
    for (const due of this.queues.get(queue)?.values() ?? []) {
      if (due <= now && (oldest === undefined || due < oldest)) oldest = due
    }
    return oldest
  }
}

/** A worker as the events describe it (`worker.online` gives the concurrency heartbeats do not carry). */
export interface TrackedWorker extends WorkerHeartbeat {
  readonly concurrency?: number
}

/**
 * Workers from `worker.*` events: online, heartbeat, offline. One that stops beating for `staleMs` drops out, like a
 * heartbeat whose TTL lapsed, so a worker killed on Kubernetes does not linger.
 */
export class WorkerTracker {
  private readonly workers = new Map<string, TrackedWorker>()

  constructor(private readonly staleMs: number) {}

  record(event: ConveyorEvent): void {
    if (event.type === 'worker.offline') {
      this.workers.delete(event.worker)
      return
    }
    if (event.type !== 'worker.online' && event.type !== 'worker.heartbeat') return
    const known = this.workers.get(event.worker)
    const base = {
      id: event.worker,
      host: event.host,
      pid: event.pid,
      queues: event.queues,
      at: event.at,
      ...(event.pool !== undefined ? { pool: event.pool } : {}),
    }
    if (event.type === 'worker.online') {
      this.workers.set(event.worker, {
        state: 'running',
        active: 0,
        processed: 0,
        startedAt: event.at,
        ...known,
        ...base,
        concurrency: event.concurrency,
      })
      return
    }
    this.workers.set(event.worker, {
      ...known,
      ...base,
      state: event.state,
      active: event.active,
      processed: event.processed,
      startedAt: event.startedAt,
      ...(event.rssBytes !== undefined ? { rssBytes: event.rssBytes } : {}),
    })
  }

  /** The workers heard from within `staleMs`. */
  list(now = Date.now()): TrackedWorker[] {
    const live: TrackedWorker[] = []
    for (const [id, worker] of this.workers) {
      if (now - worker.at > this.staleMs) this.workers.delete(id)
      else live.push(worker)
    }
    return live
  }

  /** The concurrency a worker announced, if it did while the dashboard was reading. */
  concurrency(id: string): number | undefined {
    return this.workers.get(id)?.concurrency
  }
}
