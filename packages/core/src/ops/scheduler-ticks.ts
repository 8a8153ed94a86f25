import type { App } from '../app/create-app'
import type { Logger } from '../logging/logger'
import type { CoordinationStore } from './coordination'
import { nextTick, planTicks, type ScheduleSpec } from './schedule'
import type { ScheduleFired, SchedulerClock, ScheduleStatus } from './scheduler'

/** The task a schedule enqueues, by name. */
export const scheduledTaskName = (spec: ScheduleSpec<unknown>): string =>
  typeof spec.task === 'string' ? spec.task : spec.task.name

/** What looking at the schedules works with. */
export interface SchedulerTicksParts {
  readonly app: Pick<App, 'enqueue'>
  readonly store: CoordinationStore
  readonly schedules: readonly ScheduleSpec<unknown>[]
  readonly clock: SchedulerClock
  readonly claimTtlMs: number
  readonly maxSleepMs: number
  readonly log: Logger
  readonly onFire: ((event: ScheduleFired) => void) | undefined
}

/**
 * The scheduler loop's body: plan each schedule's due ticks from the store's last claimed tick and this scheduler's
 * own cursor, claim each one, enqueue the claimed ones; and say how long to sleep until the next tick.
 */
export class SchedulerTicks {
  /** The latest tick this scheduler planned past, per schedule (ahead of the store when a claim went elsewhere). */
  private readonly cursors = new Map<string, number>()

  constructor(private readonly parts: SchedulerTicksParts) {}

  async tick(): Promise<ScheduleFired[]> {
    const { store, schedules, clock, claimTtlMs, log } = this.parts
    const fired: ScheduleFired[] = []
    for (const spec of schedules) {
      const now = clock.now()
      const stored = await store.lastTick(spec.name)
      const local = this.cursors.get(spec.name)
      const after = stored === undefined ? local : Math.max(stored, local ?? stored)
      const plan = planTicks(spec, after, now)
      if (plan.skipped > 0) {
        log.warn({ schedule: spec.name, skipped: plan.skipped }, 'missed ticks skipped (misfire: skip)')
      }
      for (const [i, tickAt] of plan.fire.entries()) {
        if (!(await store.claimTick(spec.name, tickAt, claimTtlMs))) continue
        const caughtUp = i === 0 ? plan.caughtUp : 0
        try {
          fired.push(await this.fire(spec, tickAt, caughtUp))
        } catch (error) {
          log.error({ err: error, schedule: spec.name, tickAt }, 'could not enqueue a scheduled run; tick lost')
        }
      }
      if (plan.cursor !== undefined) {
        this.cursors.set(spec.name, Math.max(plan.cursor, this.cursors.get(spec.name) ?? 0))
      }
    }
    return fired
  }

  /** Milliseconds until the soonest next tick, at most `maxSleepMs`. */
  untilNext(): number {
    const now = this.parts.clock.now()
    let soonest = now + this.parts.maxSleepMs
    for (const spec of this.parts.schedules) {
      const next = nextTick(spec, Math.max(now, this.cursors.get(spec.name) ?? now) - 1)
      if (next !== undefined && next < soonest) soonest = next
    }
    return Math.max(0, soonest - now)
  }

  private async fire(spec: ScheduleSpec<unknown>, tickAt: number, caughtUp: number): Promise<ScheduleFired> {
    const runId = `schedule:${spec.name}:${tickAt}`
    await this.parts.app.enqueue(scheduledTaskName(spec), (spec.input ?? null) as unknown, {
      ...spec.enqueue,
      id: runId,
      headers: { ...spec.enqueue?.headers, 'conveyor-schedule': spec.name, 'conveyor-tick': String(tickAt) },
    })
    const event: ScheduleFired = { schedule: spec.name, tickAt, id: runId, caughtUp }
    this.parts.log.info(
      { schedule: spec.name, tickAt: new Date(tickAt).toISOString(), taskId: runId, caughtUp },
      'schedule fired',
    )
    this.parts.onFire?.(event)
    return event
  }
}

/** `conveyor scheduler list`: each schedule, its last claimed tick and its next `count` ticks from `now`. */
export async function listSchedules(
  store: CoordinationStore,
  schedules: readonly ScheduleSpec<unknown>[],
  { now, count }: { now: number; count: number },
): Promise<ScheduleStatus[]> {
  const out: ScheduleStatus[] = []
  for (const spec of schedules) {
    const lastTick = await store.lastTick(spec.name)
    const ticks: number[] = []
    for (let at = now; ticks.length < count; ) {
      const next = nextTick(spec, at)
      if (next === undefined) break
      ticks.push(next)
      at = next
    }
    out.push({
      name: spec.name,
      task: scheduledTaskName(spec),
      ...(spec.cron !== undefined ? { cron: spec.cron, timezone: spec.timezone ?? 'UTC' } : {}),
      ...(spec.everyMs !== undefined ? { everyMs: spec.everyMs } : {}),
      misfire: spec.misfire ?? 'skip',
      ...(lastTick !== undefined ? { lastTick } : {}),
      nextTicks: ticks,
    })
  }
  return out
}
