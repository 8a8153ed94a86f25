import { hostname } from 'node:os'
import type { TaskEventEmitter } from '../events/events'
import type { Logger } from '../logging/logger'
import type { Worker } from '../worker/worker'
import type { CoordinationStore, WorkerHeartbeat } from './coordination'

export interface HeartbeatOptions {
  /** How often the beat is written. Defaults to 5 s. */
  readonly intervalMs?: number
  /** How long a beat stays listed without renewal. Defaults to three intervals. */
  readonly ttlMs?: number
  /** The pool this worker serves (supervisor). */
  readonly pool?: string
  /** Where a failed write is reported (once per outage). */
  readonly logger?: Logger
  /**
   * The app's events (`app.events`): each beat is also emitted as `worker.heartbeat`, so stream readers (dashboard,
   * alerts) see workers without reading the coordination store.
   */
  readonly events?: TaskEventEmitter
}

/** A running heartbeat; `stop()` removes the worker from the listing at once. */
export interface Heartbeat {
  /** Write a beat now (after a state change), besides the periodic ones. */
  beat(): Promise<void>
  stop(): Promise<void>
}

/**
 * Publish a worker's heartbeat (host, pid, queues, state, active, processed) to the store every few seconds, so that
 * `conveyor inspect workers` lists it; a worker that dies stops beating and drops out after `ttlMs`.
 */
export function startHeartbeat(store: CoordinationStore, worker: Worker, options: HeartbeatOptions = {}): Heartbeat {
  const intervalMs = options.intervalMs ?? 5000
  const ttlMs = options.ttlMs ?? intervalMs * 3
  const startedAt = Date.now()
  const host = hostname()
  let failing = false
  let stopped = false
  let writing: Promise<void> = Promise.resolve()

  const snapshot = (): WorkerHeartbeat => ({
    id: worker.id,
    host,
    pid: process.pid,
    ...(options.pool !== undefined ? { pool: options.pool } : {}),
    queues: worker.queues,
    state: worker.state,
    active: worker.active,
    processed: worker.processed,
    rssBytes: process.memoryUsage.rss(),
    startedAt,
    at: Date.now(),
  })

  const beat = (): Promise<void> => {
    if (stopped) return writing
    // One write at a time: a slow store gets beats in order, and stop() knows what to wait for.
    writing = writing.then(write)
    return writing
  }
  const write = async () => {
    const current = snapshot()
    if (options.events?.wants('worker.heartbeat')) {
      const { id, ...rest } = current
      options.events.emit('worker.heartbeat', { ...rest, worker: id })
    }
    try {
      await store.putHeartbeat(current, ttlMs)
      if (failing) options.logger?.info('heartbeat written again')
      failing = false
    } catch (error) {
      if (!failing) options.logger?.warn({ err: error }, 'could not write the worker heartbeat')
      failing = true
    }
  }

  const timer = setInterval(() => void beat(), intervalMs)
  timer.unref()
  void beat()

  return {
    beat,
    async stop() {
      stopped = true
      clearInterval(timer)
      // A beat already on its way would land after the removal and list a stopped worker until its TTL.
      await writing
      await store.removeHeartbeat(worker.id).catch(() => undefined)
    },
  }
}
