import type { Envelope } from '../contracts/envelope'
import { TaskTimeoutError } from '../errors/task-timeout-error'
import type { DeliveryInfo, ExecutionHooks } from '../worker/runtime'
import type { CoordinationStore } from './coordination'

/** One attempt whose process was killed because it outlived the task's hard time limit. */
export interface HardLimitKill {
  readonly id: string
  readonly task: string
  /** The attempt that was killed: only that attempt fails; the retry that follows runs normally. */
  readonly attempt: number
  readonly limitMs: number
}

/** How long a kill is remembered by default: long enough for the delivery to come back (lease expiry, restarts). */
export const DEFAULT_HARD_LIMIT_KILL_TTL_MS = 3_600_000

/**
 * The store key of a kill. It lives in the revoke set under its own prefix (every `CoordinationStore` has one, with
 * a TTL), so no store needs a new method; task ids never start with it, so it cannot revoke a real task.
 */
export const hardLimitKey = (id: string, attempt: number) => `hard-limit:${attempt}:${id}`

/** Record a kill in a shared store, so a worker of another supervisor that gets the redelivery fails it too. */
export function recordHardLimitKill(
  store: CoordinationStore,
  kill: Pick<HardLimitKill, 'id' | 'attempt'>,
  ttlMs = DEFAULT_HARD_LIMIT_KILL_TTL_MS,
): Promise<void> {
  return store.revoke(hardLimitKey(kill.id, kill.attempt), ttlMs)
}

export interface HardLimitHooksOptions {
  /** Shared store where supervisors record kills (`recordHardLimitKill`). Without it, only `noteKill` counts. */
  readonly store?: CoordinationStore
  /**
   * The hard limit of a task, ms, or undefined when it has none. Only tasks with a limit are looked up in the store
   * (one read per delivery of those), so tasks without a limit cost nothing.
   */
  readonly limitOf: (task: string) => number | undefined
  /** How long a noted kill waits for its redelivery before it is forgotten. Default 1 h. */
  readonly ttlMs?: number
}

export interface HardLimitHooks extends ExecutionHooks {
  /** A kill heard about directly (the supervisor's IPC message): the redelivered attempt fails without a store. */
  noteKill(kill: HardLimitKill): void
}

/**
 * Worker hooks that turn a hard-time-limit kill into a failed attempt. The killed process's delivery comes back
 * through the broker as a redelivery of the same attempt; counted as a crash it would only move towards
 * `maxDeliveries`. Instead, `beforeRun` fails that attempt with `TaskTimeoutError` without running it again, so the
 * task's retry policy decides (retry with backoff, or dead-letter as `max-attempts`).
 */
export function hardLimitHooks(options: HardLimitHooksOptions): HardLimitHooks {
  const ttlMs = options.ttlMs ?? DEFAULT_HARD_LIMIT_KILL_TTL_MS
  const noted = new Map<string, { kill: HardLimitKill; expiresAt: number }>()
  const prune = (now: number) => {
    for (const [key, entry] of noted) if (entry.expiresAt <= now) noted.delete(key)
  }
  const fail = (task: string, limitMs: number) => ({ fail: new TaskTimeoutError(task, limitMs) })
  return {
    noteKill(kill) {
      const now = Date.now()
      prune(now)
      noted.set(hardLimitKey(kill.id, kill.attempt), { kill, expiresAt: now + ttlMs })
    },
    async beforeRun(envelope: Envelope, _signal: AbortSignal, delivery: DeliveryInfo) {
      // A killed attempt always comes back as a redelivery (its lease ran out, its channel closed). A first delivery
      // of the same id and attempt is a replay of the run's dead letter (attempt 1 again): a fresh run, asked for by
      // an operator, which the kill's mark must not fail — on any worker, for as long as the mark lives.
      if (delivery.deliveryCount <= 1) return 'run'
      const key = hardLimitKey(envelope.id, envelope.attempt)
      const entry = noted.get(key)
      if (entry !== undefined) {
        // Once: the failure is settled by the retry policy; a later delivery of this key would be a new story.
        noted.delete(key)
        return fail(envelope.task, entry.kill.limitMs)
      }
      if (options.store === undefined) return 'run'
      const limitMs = options.limitOf(envelope.task)
      if (limitMs === undefined) return 'run'
      // Fail open, like revoke checks: an unreachable store must not stop the fleet; the attempt then runs again.
      const killed = await options.store.isRevoked(key).catch(() => false)
      return killed ? fail(envelope.task, limitMs) : 'run'
    },
  }
}
