import type { ChildProcess } from 'node:child_process'
import type { CoordinationStore, Logger } from '@conveyor/core'
import { terminateKey } from '@conveyor/core/adapter'

/** How long a terminated run may take to stop before its process is killed, by default. */
export const DEFAULT_TERMINATE_GRACE_MS = 5000

/** What the watch needs of a supervisor slot. */
export interface WatchedSlot {
  readonly child?: ChildProcess
  readonly running: ReadonlyMap<string, unknown>
  killedForLimit: boolean
}

/**
 * `revoke(id, { terminate: true })` under `conveyor worker`: the supervisor asks the coordination store about the
 * runs its children report running, tells the child running a terminated one (its handler's signal aborts at once),
 * and kills and replaces that child when the run has not ended within the grace period. The supervisor polls, not
 * the child, so a handler that blocks its event loop is stopped too. The redelivered message is then skipped by the
 * new child's `revokeHooks` (the id is revoked as well), so the run ends `revoked` and is never retried.
 */
export class TerminateWatch {
  /** Runs already told to stop: when, and in which process. */
  private readonly told = new Map<string, { readonly at: number; readonly child: ChildProcess }>()
  private polling = false

  constructor(
    private readonly store: CoordinationStore,
    private readonly graceMs: number,
    private readonly log: Logger,
  ) {}

  /** One pass; overlapping calls are skipped (a slow store). */
  async poll(slots: readonly WatchedSlot[]): Promise<void> {
    if (this.polling) return
    this.polling = true
    try {
      const now = Date.now()
      for (const slot of slots) {
        const child = slot.child
        if (child === undefined) continue
        for (const id of slot.running.keys()) {
          const told = this.told.get(id)
          if (told === undefined) {
            if (!(await this.store.isRevoked(terminateKey(id)).catch(() => false))) continue
            this.told.set(id, { at: now, child })
            this.log.warn({ taskId: id, pid: child.pid }, 'task revoked with terminate; aborting its handler')
            if (child.connected) child.send({ type: 'terminate', id })
          } else if (told.child === child && now - told.at > this.graceMs && !slot.killedForLimit) {
            this.log.error(
              { taskId: id, pid: child.pid, graceMs: this.graceMs },
              'terminated task did not stop within the grace period; killing and replacing its worker process',
            )
            slot.killedForLimit = true
            child.kill('SIGKILL')
          }
        }
      }
      // Forget runs no process reports any more (ended, or their process is gone).
      const live = new Set(slots.flatMap((slot) => [...slot.running.keys()]))
      for (const id of this.told.keys()) if (!live.has(id)) this.told.delete(id)
    } finally {
      this.polling = false
    }
  }
}
