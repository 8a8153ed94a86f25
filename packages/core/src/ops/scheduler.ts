import { hostname } from 'node:os'
import type { App } from '../app/create-app'
import { ConveyorError } from '../errors/conveyor-error'
import type { Logger } from '../logging/logger'
import { sleep } from '../util/sleep'
import type { CoordinationStore } from './coordination'
import { type ScheduleSpec, validateSchedules } from './schedule'
import { listSchedules, SchedulerTicks } from './scheduler-ticks'

/** Time as the scheduler sees it; tests inject a fake one. */
export interface SchedulerClock {
  now(): number
  /** Resolve after `ms`, or earlier (reject or resolve) when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>
}

export interface SchedulerOptions {
  /** Where ticks are claimed: a shared store (Redis) so several schedulers fire each tick once between them. */
  readonly coordination: CoordinationStore
  readonly schedules: readonly ScheduleSpec<unknown>[]
  /** Identifies this scheduler in logs. Defaults to `host:pid`. */
  readonly id?: string
  readonly clock?: SchedulerClock
  /** How long a tick claim is remembered. Defaults to 10 minutes (far longer than schedulers disagree for). */
  readonly claimTtlMs?: number
  /** Longest sleep between looks at the schedules (picks up a lost store, clock jumps). Defaults to 30 s. */
  readonly maxSleepMs?: number
  readonly logger?: Logger
  /** Called after this scheduler enqueued a tick. */
  readonly onFire?: (event: ScheduleFired) => void
}

export interface ScheduleFired {
  readonly schedule: string
  /** The tick, epoch ms. */
  readonly tickAt: number
  /** Id of the enqueued task run: `schedule:<name>:<tickAt>`. */
  readonly id: string
  /** Missed ticks this run stands for (`run-once` catch-up), else 0. */
  readonly caughtUp: number
}

/** One line of `conveyor scheduler list`. */
export interface ScheduleStatus {
  readonly name: string
  readonly task: string
  readonly cron?: string
  readonly timezone?: string
  readonly everyMs?: number
  readonly misfire: 'skip' | 'run-once'
  /** The last tick claimed by any scheduler sharing the store (epoch ms). */
  readonly lastTick?: number
  readonly nextTicks: readonly number[]
}

export interface Scheduler {
  readonly id: string
  /** Run until `stop()`. Resolves once the loop runs. */
  start(): Promise<void>
  stop(): Promise<void>
  /** Look at every schedule once and fire what is due (the loop's body; exposed for tests and one-shot cron use). */
  tick(): Promise<ScheduleFired[]>
  list(count?: number): Promise<ScheduleStatus[]>
}

const realClock: SchedulerClock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, signal).catch(() => undefined),
}

/**
 * Fires periodic tasks. Any number of schedulers may run on the same store: each tick is claimed in the store
 * (`claimTick`, a SET NX on Redis) before it is enqueued, so it runs once however many schedulers saw it.
 * The ticks themselves are held by nobody: each scheduler recomputes them from the schedule and the store's last
 * claimed tick, so a restarted or new scheduler resumes where the fleet left off, applying the misfire policy.
 *
 * Claiming comes before publishing: if a scheduler dies between the two, that one tick is lost (at most once per
 * tick), never doubled.
 */
export function createScheduler(app: Pick<App, 'enqueue' | 'logger'>, options: SchedulerOptions): Scheduler {
  validateSchedules(options.schedules)
  const store = options.coordination
  const clock = options.clock ?? realClock
  const maxSleepMs = options.maxSleepMs ?? 30_000
  const id = options.id ?? `${hostname()}:${process.pid}`
  const log = (options.logger ?? app.logger).child({ scheduler: id })
  const ticks = new SchedulerTicks({
    app,
    store,
    schedules: options.schedules,
    clock,
    claimTtlMs: options.claimTtlMs ?? 600_000,
    maxSleepMs,
    log,
    onFire: options.onFire,
  })
  let controller: AbortController | undefined
  let loop: Promise<void> | undefined

  const run = async (signal: AbortSignal) => {
    let failing = false
    while (!signal.aborted) {
      try {
        await ticks.tick()
        if (failing) log.info('scheduler store reachable again')
        failing = false
      } catch (error) {
        if (!failing) log.error({ err: error }, 'scheduler could not reach its store; retrying')
        failing = true
      }
      await clock.sleep(failing ? Math.min(1000, maxSleepMs) : ticks.untilNext(), signal)
    }
  }

  return {
    id,
    async start() {
      if (controller !== undefined) throw new ConveyorError('CONVEYOR_SCHEDULER_STATE', 'scheduler already started')
      await store.connect()
      controller = new AbortController()
      log.info({ schedules: options.schedules.map((s) => s.name) }, 'scheduler started')
      loop = run(controller.signal)
    },
    async stop() {
      controller?.abort()
      await loop
      loop = undefined
    },
    tick: () => ticks.tick(),
    list: async (count = 3) => listSchedules(store, options.schedules, { now: clock.now(), count }),
  }
}
