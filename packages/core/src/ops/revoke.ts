import type { ExecutionHooks } from '../worker/runtime'
import type { CoordinationStore } from './coordination'

/** How long a revoke is remembered by default: a day, longer than most tasks wait in a queue. */
export const DEFAULT_REVOKE_TTL_MS = 86_400_000

/**
 * Revoke a task by id: a worker using `revokeHooks` on the same store acks it without running it and records it
 * `revoked`. A task that already started is not interrupted.
 */
export function revokeTask(store: CoordinationStore, id: string, ttlMs = DEFAULT_REVOKE_TTL_MS): Promise<void> {
  return store.revoke(id, ttlMs)
}

/** Worker hooks that skip revoked task ids (see `revokeTask`). One store read per delivery. */
export function revokeHooks(store: CoordinationStore): ExecutionHooks {
  return {
    async beforeRun(envelope) {
      return (await store.isRevoked(envelope.id)) ? 'revoked' : 'run'
    },
  }
}
