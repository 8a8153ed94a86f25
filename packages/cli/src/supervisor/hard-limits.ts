import type { ChildProcess } from 'node:child_process'
import type { CoordinationStore, Logger } from '@conveyor/core'
import { type HardLimitKill, recordHardLimitKill } from '@conveyor/core/adapter'
import type { Slot } from './state'

/** Kills remembered for replacement children: long enough for a redelivery (lease expiry), bounded in number. */
const KILL_MEMORY_MS = 10 * 60_000
const KILL_MEMORY_MAX = 200

/**
 * Hard time limits, supervisor side: finds children running an attempt past its limit, tells every other child
 * (and the coordination store) which attempts were killed, then kills the child. Remembers recent kills so that a
 * replacement child, which missed the broadcast, is told them at start.
 */
export class HardLimitWatch {
  private kills: (HardLimitKill & { at: number })[] = []

  constructor(
    private readonly slots: readonly Slot[],
    private readonly store: CoordinationStore | undefined,
    private readonly log: Logger,
  ) {}

  /** Recent kills, for a child about to start. */
  recent(): HardLimitKill[] {
    return this.kills.map(({ at: _, ...kill }) => kill)
  }

  /** One pass over the slots: kill and replace each child with an attempt over its limit. */
  check(): void {
    const now = Date.now()
    for (const slot of this.slots) {
      const child = slot.child
      if (child === undefined || slot.killedForLimit) continue
      // Every attempt of this process that is over its limit fails; the others it was running only crash (they
      // come back as redeliveries and run again).
      const over: HardLimitKill[] = []
      for (const [id, run] of slot.running) {
        if (run.hardLimitMs !== undefined && now - run.startedAt > run.hardLimitMs) {
          over.push({ id, task: run.task, attempt: run.attempt, limitMs: run.hardLimitMs })
        }
      }
      if (over.length === 0) continue
      slot.killedForLimit = true
      for (const kill of over) {
        this.log.error(
          {
            pool: slot.pool.name,
            pid: child.pid,
            taskId: kill.id,
            task: kill.task,
            attempt: kill.attempt,
            hardLimitMs: kill.limitMs,
          },
          'task exceeded its hard time limit; killing and replacing its worker process (the attempt fails)',
        )
      }
      void this.kill(child, over)
    }
  }

  /**
   * Tell every child (and the coordination store) before killing: the delivery may come back at once (RabbitMQ
   * requeues on channel close), and whichever worker gets it must already know to fail that attempt.
   */
  private async kill(child: ChildProcess, over: readonly HardLimitKill[]): Promise<void> {
    const now = Date.now()
    const fresh = this.kills.filter((k) => now - k.at < KILL_MEMORY_MS)
    this.kills = [...fresh, ...over.map((kill) => ({ ...kill, at: now }))].slice(-KILL_MEMORY_MAX)
    for (const slot of this.slots) {
      if (!(slot.child?.connected && slot.child !== child)) continue
      for (const kill of over) slot.child.send({ type: 'hard-limit-killed', ...kill })
    }
    const store = this.store
    if (store) {
      // Bounded: a slow store must not keep the stuck task running; the IPC broadcast covers this supervisor.
      const recorded = Promise.all(over.map((kill) => recordHardLimitKill(store, kill))).catch((error: unknown) =>
        this.log.warn({ err: error }, 'could not record a hard-limit kill in the coordination store'),
      )
      await Promise.race([recorded, new Promise((r) => setTimeout(r, 1000).unref())])
    }
    child.kill('SIGKILL')
  }
}
