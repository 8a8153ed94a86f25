import type { ExecutionHooks } from '../worker/runtime'
import type { CoordinationStore } from './coordination'

/** How long a revoke is remembered by default: a day, longer than most tasks wait in a queue. */
export const DEFAULT_REVOKE_TTL_MS = 86_400_000

/** Options of `revokeTask` and `app.revoke`. */
export interface RevokeOptions {
  /** How long the revoke is remembered. Defaults to a day. */
  readonly ttlMs?: number
  /**
   * Also stop the run if it already started: its handler's signal aborts with `TaskRevokedError` and the run ends
   * `revoked`, never retried. Under `conveyor worker` the supervisor asks the store, tells the child, and kills and
   * replaces the child when the handler has not stopped within the grace period (`--terminate-grace`).
   */
  readonly terminate?: boolean
}

/**
 * The store key asking running workers to stop a run. Like hard-limit kills it lives in the revoke set under its own
 * prefix (every `CoordinationStore` has one, with a TTL); task ids never start with it.
 */
export const terminateKey = (id: string) => `terminate:${id}`

/**
 * Revoke a task by id: a worker using `revokeHooks` on the same store acks it without running it and records it
 * `revoked`. With `terminate: true` a run that already started is stopped too (see `RevokeOptions.terminate`).
 */
export async function revokeTask(
  store: CoordinationStore,
  id: string,
  options: number | RevokeOptions = {},
): Promise<void> {
  const { ttlMs = DEFAULT_REVOKE_TTL_MS, terminate = false } =
    typeof options === 'number' ? { ttlMs: options } : options
  await store.revoke(id, ttlMs)
  if (terminate) await store.revoke(terminateKey(id), ttlMs)
}

/** Worker hooks that skip revoked task ids (see `revokeTask`). One store read per delivery. */
export function revokeHooks(store: CoordinationStore): ExecutionHooks {
  return {
    async beforeRun(envelope) {
      return (await store.isRevoked(envelope.id)) ? 'revoked' : 'run'
    },
  }
}
