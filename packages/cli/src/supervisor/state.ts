import type { ChildProcess } from 'node:child_process'
import type { Logger } from '@conveyor/core'
import type { MetricsSnapshot } from '@conveyor/core/adapter'
import type { RestartPolicy } from './backoff'
import type { SupervisorMetrics } from './metrics'
import type { PoolSpec } from './pools'
import type { ChildStatus, SupervisorOptions } from './types'

/** A run a child reported started and not yet ended. */
export interface Running {
  readonly task: string
  readonly attempt: number
  readonly startedAt: number
  readonly hardLimitMs?: number
}

/** One place in a pool: the child process filling it now (if any) and what the supervisor knows of it. */
export interface Slot {
  readonly pool: PoolSpec
  readonly index: number
  child?: ChildProcess
  state: ChildStatus['state']
  restarts: number
  failures: number
  processed: number
  rssBytes?: number
  readyAt?: number
  recycling: boolean
  killedForLimit: boolean
  lastFatal?: string
  running: Map<string, Running>
  timer?: NodeJS.Timeout
  /** The child's last metrics report. */
  metrics?: MetricsSnapshot
}

/** What the supervisor's parts (spawning, reports, restarts, limits, stopping) share. */
export interface SupervisorState {
  readonly options: SupervisorOptions
  readonly log: Logger
  readonly restart: RestartPolicy
  readonly drainTimeoutMs: number
  readonly hardTimeoutMs: number | undefined
  readonly statsIntervalMs: number
  readonly slots: readonly Slot[]
  readonly metrics: SupervisorMetrics | undefined
  /** Set once a stop began (and only raised from graceful to hard). */
  stopping: 'graceful' | 'hard' | undefined
}

/** Every pool's slots, in pool order, none started yet. */
export function createSlots(pools: readonly PoolSpec[]): Slot[] {
  return pools.flatMap((pool) =>
    Array.from({ length: pool.processes }, (_, index) => ({
      pool,
      index,
      state: 'starting' as const,
      restarts: 0,
      failures: 0,
      processed: 0,
      recycling: false,
      killedForLimit: false,
      running: new Map<string, Running>(),
    })),
  )
}

/** A slot as `status()` shows it. */
export function slotStatus(slot: Slot): ChildStatus {
  return {
    pool: slot.pool.name,
    slot: slot.index,
    ...(slot.child?.pid !== undefined ? { pid: slot.child.pid } : {}),
    state: slot.state,
    restarts: slot.restarts,
    failures: slot.failures,
    running: slot.running.size,
    processed: slot.processed,
    ...(slot.rssBytes !== undefined ? { rssBytes: slot.rssBytes } : {}),
  }
}

/** No slot has a live child: the supervisor may finish. */
export function allExited(slots: readonly Slot[]): boolean {
  return slots.every((s) => s.child === undefined)
}
