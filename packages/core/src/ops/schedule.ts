import { Cron } from 'croner'
import type { EnqueueOptions } from '../app/options'
import { InvalidOptionsError } from '../errors/invalid-options-error'
import type { TaskDeclaration } from '../task/task'

/** What to do with ticks that passed while no scheduler ran (downtime, a long pause). */
export type MisfirePolicy = 'skip' | 'run-once'

/**
 * A periodic task declared in code. Exactly one of `cron` and `everyMs`.
 *
 * - `cron`: 5 fields (minute precision) or 6 (leading seconds), evaluated in `timezone` (IANA name, default UTC).
 *   DST: a time that does not exist on spring-forward day (02:30 in Europe/Berlin on 2026-03-29) runs once at the
 *   first valid time after it (03:00 CEST); a time that exists twice on fall-back day (02:30 on 2026-10-25) runs once,
 *   at its first occurrence (CEST). Hourly and finer patterns run every real hour, both 02:xx hours included.
 * - `everyMs`: ticks at whole multiples of `everyMs` since the Unix epoch (plus `offsetMs`), so every scheduler in the
 *   fleet computes the same ticks without talking to the others.
 */
export interface ScheduleSpec<Input = unknown> {
  /** Unique name; the key of its tick claims. */
  readonly name: string
  readonly cron?: string
  readonly timezone?: string
  readonly everyMs?: number
  /** Shift of interval ticks from the epoch grid, 0 ≤ offsetMs < everyMs. */
  readonly offsetMs?: number
  /** The task to enqueue: a declaration or a task name. */
  readonly task: TaskDeclaration<Input, unknown> | string
  /** Input of every run. Defaults to null. */
  readonly input?: Input
  /** Defaults to `skip`: missed ticks are dropped; `run-once` runs one catch-up for all of them. */
  readonly misfire?: MisfirePolicy
  /** How late a tick may fire and still count as on time. Defaults to 1000 ms. */
  readonly graceMs?: number
  /** Passed to every enqueue (queue, priority, expiresInMs…). */
  readonly enqueue?: Omit<EnqueueOptions, 'id' | 'delayMs' | 'runAt'>
}

/** What a scheduler should do now for one schedule. */
export interface TickPlan {
  /** Ticks to claim and fire, oldest first. */
  readonly fire: readonly number[]
  /** Missed ticks dropped by the misfire policy. */
  readonly skipped: number
  /** Missed ticks folded into one catch-up run (`run-once`). */
  readonly caughtUp: number
  /** The latest tick at or before `now`, to resume from; undefined when there is none after `after`. */
  readonly cursor: number | undefined
}

const MAX_ENUMERATED = 1000
const DEFAULT_GRACE_MS = 1000

const crons = new WeakMap<ScheduleSpec<unknown>, Cron>()

function cronOf(spec: ScheduleSpec<unknown>): Cron {
  let cron = crons.get(spec)
  if (cron === undefined) {
    try {
      cron = new Cron(spec.cron!, { paused: true, timezone: spec.timezone ?? 'UTC' })
      // Croner accepts an unknown zone and fails later; probe it now so the mistake surfaces at declaration.
      cron.nextRun(new Date(0))
    } catch (error) {
      throw new InvalidOptionsError(
        `schedule "${spec.name}": cannot use cron "${spec.cron}"${spec.timezone ? ` in ${spec.timezone}` : ''}: ${(error as Error).message}`,
        { cause: error },
      )
    }
    crons.set(spec, cron)
  }
  return cron
}

/** Throws `InvalidOptionsError` naming what is wrong with a schedule (and that names are unique). */
export function validateSchedules(specs: readonly ScheduleSpec<unknown>[]): void {
  const names = new Set<string>()
  for (const spec of specs) {
    if (typeof spec.name !== 'string' || spec.name === '') throw new InvalidOptionsError('a schedule needs a name')
    if (names.has(spec.name)) throw new InvalidOptionsError(`schedule "${spec.name}" is declared twice`)
    names.add(spec.name)
    if ((spec.cron === undefined) === (spec.everyMs === undefined)) {
      throw new InvalidOptionsError(`schedule "${spec.name}": give exactly one of cron and everyMs`)
    }
    if (spec.everyMs !== undefined) {
      if (!(Number.isInteger(spec.everyMs) && spec.everyMs >= 1)) {
        throw new InvalidOptionsError(`schedule "${spec.name}": everyMs must be an integer ≥ 1, got ${spec.everyMs}`)
      }
      const offset = spec.offsetMs ?? 0
      if (!(Number.isInteger(offset) && offset >= 0 && offset < spec.everyMs)) {
        throw new InvalidOptionsError(`schedule "${spec.name}": offsetMs must be an integer in [0, everyMs)`)
      }
      if (spec.timezone !== undefined) {
        throw new InvalidOptionsError(`schedule "${spec.name}": timezone applies to cron schedules only`)
      }
    } else {
      cronOf(spec)
    }
    if (spec.misfire !== undefined && spec.misfire !== 'skip' && spec.misfire !== 'run-once') {
      throw new InvalidOptionsError(`schedule "${spec.name}": misfire must be 'skip' or 'run-once'`)
    }
    if (spec.graceMs !== undefined && !(Number.isFinite(spec.graceMs) && spec.graceMs >= 0)) {
      throw new InvalidOptionsError(`schedule "${spec.name}": graceMs must be ≥ 0`)
    }
  }
}

/** The first tick strictly after `after` (epoch ms), or undefined when the pattern never fires again. */
export function nextTick(spec: ScheduleSpec<unknown>, after: number): number | undefined {
  if (spec.everyMs !== undefined) {
    const offset = spec.offsetMs ?? 0
    return Math.floor((after - offset) / spec.everyMs) * spec.everyMs + offset + spec.everyMs
  }
  return cronOf(spec).nextRun(new Date(after))?.getTime()
}

/** The next `count` ticks strictly after `after`. */
export function nextTicks(spec: ScheduleSpec<unknown>, after: number, count: number): number[] {
  const ticks: number[] = []
  let at = after
  while (ticks.length < count) {
    const next = nextTick(spec, at)
    if (next === undefined) break
    ticks.push(next)
    at = next
  }
  return ticks
}

/**
 * Which ticks of `spec` in (`after`, `now`] to fire, given its misfire policy. `after` is the last tick the fleet
 * handled (undefined for a schedule that never ran: nothing before `now - graceMs` is owed then). Pure: the
 * scheduler's clock is an argument, so downtime and DST cases are tested without waiting.
 */
export function planTicks(spec: ScheduleSpec<unknown>, after: number | undefined, now: number): TickPlan {
  const graceMs = spec.graceMs ?? DEFAULT_GRACE_MS
  const from = after ?? now - graceMs - 1
  const onTime: number[] = []
  let missed = 0
  let latestMissed: number | undefined
  let cursor: number | undefined
  if (spec.everyMs !== undefined) {
    // Interval ticks are arithmetic: count a long downtime without enumerating it.
    const first = nextTick(spec, from)!
    if (first <= now) {
      const last = nextTick(spec, now)! - spec.everyMs
      cursor = last
      const firstOnTime = Math.max(first, nextTick(spec, now - graceMs - 1)!)
      for (let t = firstOnTime; t <= last; t += spec.everyMs) onTime.push(t)
      missed = Math.max(0, Math.round((firstOnTime - first) / spec.everyMs))
      if (missed > 0) latestMissed = firstOnTime - spec.everyMs
    }
  } else {
    const onTimeFrom = Math.max(from, now - graceMs - 1)
    for (let at = onTimeFrom, n = 0; n < MAX_ENUMERATED; n++) {
      const t = nextTick(spec, at)
      if (t === undefined || t > now) break
      onTime.push(t)
      cursor = t
      at = t
    }
    // Missed ticks lie in (from, onTimeFrom]; count them up to a cap (a long downtime is cut short: the count is a floor).
    for (let at = from, n = 0; at < onTimeFrom; n++) {
      const t = nextTick(spec, at)
      if (t === undefined || t > onTimeFrom) break
      if (n >= MAX_ENUMERATED) {
        latestMissed =
          cronOf(spec)
            .previousRuns(1, new Date(onTimeFrom + 1))[0]
            ?.getTime() ?? latestMissed
        break
      }
      missed++
      latestMissed = t
      at = t
    }
    if (cursor === undefined) cursor = latestMissed
  }
  if (spec.misfire === 'run-once' && latestMissed !== undefined) {
    return { fire: [latestMissed, ...onTime], skipped: 0, caughtUp: missed, cursor }
  }
  return { fire: onTime, skipped: missed, caughtUp: 0, cursor }
}
