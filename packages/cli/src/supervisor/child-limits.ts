import { type HardLimitHooks, type HardLimitKill, hardLimitHooks } from '@conveyor/core/adapter'
import type { AppModule } from '../load-app'
import type { ChildConfig } from './messages'

/**
 * Hard time limits, child side: the supervisor kills the process of an attempt that outlives its task's limit and
 * tells the other children (and records it in the coordination store, for other supervisors); the redelivered
 * attempt then fails here with `TaskTimeoutError` before running, so the retry policy decides rather than
 * `maxDeliveries`. The hooks exist before the module loads so kills broadcast meanwhile are not lost; the limits
 * are known once it has.
 */
export class ChildHardLimits {
  private limitOf: (task: string) => number | undefined
  private hooks: HardLimitHooks
  /** Kills heard of before the hooks are final, replayed into them then (and no longer kept after). */
  private early: HardLimitKill[] | undefined

  constructor(private readonly config: ChildConfig) {
    this.limitOf = () => config.hardTimeoutMs
    this.hooks = hardLimitHooks({ limitOf: (task) => this.limitOf(task) })
    this.early = [...(config.kills ?? [])]
  }

  noteKill(kill: HardLimitKill): void {
    this.early?.push(kill)
    this.hooks.noteKill(kill)
  }

  /** The hard limit of a task's runs, ms (undefined: none). */
  limitFor(task: string): number | undefined {
    return this.limitOf(task)
  }

  /** The module has loaded: its limits apply, and the final hooks (with its coordination store) are returned. */
  configure(mod: AppModule): HardLimitHooks {
    // Per task: the module's `hardTimeouts` override the task's own `hardTimeoutMs`; --hard-timeout covers tasks
    // that declare none.
    const declared = new Map(mod.app.tasks().map((t) => [t.name, t.settings.hardTimeoutMs]))
    const limitOf = (task: string) => mod.hardTimeouts?.[task] ?? declared.get(task) ?? this.config.hardTimeoutMs
    this.limitOf = limitOf
    if (mod.coordination) this.hooks = hardLimitHooks({ store: mod.coordination, limitOf })
    for (const kill of this.early ?? []) this.hooks.noteKill(kill)
    this.early = undefined
    return this.hooks
  }
}
