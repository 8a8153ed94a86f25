import type { App } from '../app/create-app'
import type { QueueStats } from '../contracts/broker'
import { UnsupportedError } from '../errors/unsupported-error'
import type { CoordinationStore, WorkerHeartbeat } from '../ops/coordination'
import { sleep } from '../util/sleep'

/** How one task run ended, as failure-rate rules count it. */
export interface TaskOutcome {
  readonly task: string
  readonly queue: string
  readonly outcome: 'succeeded' | 'failed' | 'dead-lettered'
  /** Epoch ms. */
  readonly at: number
}

/** A source of task outcomes: this process's events, or (fleet-wide) the app's event stream. */
export interface OutcomeFeed {
  /** Call `listener` for every run that ends from now on; returns the unsubscribe function. */
  subscribe(listener: (outcome: TaskOutcome) => void): () => void
}

/**
 * Everything rules read, kept small so that tests and other sources (an event stream) can stand in for the app.
 * Rules never write through it.
 */
export interface AlertInputs {
  /** The evaluator's clock, epoch ms. */
  now(): number
  queueStats(queue: string): Promise<QueueStats>
  /** Live worker heartbeats (the coordination store's listing). */
  heartbeats(): Promise<readonly WorkerHeartbeat[]>
  /** The latest tick any scheduler claimed for `schedule`. */
  lastTick(schedule: string): Promise<number | undefined>
  /** Task outcomes for failure-rate rules. */
  readonly outcomes: OutcomeFeed
}

/** Outcomes this process sees on `app.events` (its own workers'): enough for an in-process evaluator. */
export function localOutcomes(app: Pick<App, 'events'>): OutcomeFeed {
  return {
    subscribe(listener) {
      const offs = [
        app.events.on('task.succeeded', (e) =>
          listener({ task: e.task, queue: e.queue, outcome: 'succeeded', at: e.at }),
        ),
        app.events.on('task.failed', (e) => listener({ task: e.task, queue: e.queue, outcome: 'failed', at: e.at })),
        app.events.on('task.dead-lettered', (e) =>
          listener({ task: e.task, queue: e.queue, outcome: 'dead-lettered', at: e.at }),
        ),
      ]
      return () => {
        for (const off of offs) off()
      }
    },
  }
}

const ENDED = ['task.succeeded', 'task.failed', 'task.dead-lettered'] as const

/**
 * Outcomes of every process of the fleet, read from the app's event stream (`app.events.subscribe`) from the moment
 * of subscribing. An app without a stream falls back to `localOutcomes`. A read that fails is retried every second
 * (logged once per outage), so a broker blip costs the rule some samples, not the evaluator.
 */
export function streamOutcomes(app: Pick<App, 'events' | 'logger'>): OutcomeFeed {
  return {
    subscribe(listener) {
      const stop = new AbortController()
      let fallback: (() => void) | undefined
      const follow = async () => {
        let failing = false
        while (!stop.signal.aborted) {
          try {
            for await (const { event } of app.events.subscribe({ types: [...ENDED], signal: stop.signal })) {
              failing = false
              if (
                event.type === 'task.succeeded' ||
                event.type === 'task.failed' ||
                event.type === 'task.dead-lettered'
              ) {
                const outcome = event.type.slice('task.'.length) as TaskOutcome['outcome']
                listener({ task: event.task, queue: event.queue, outcome, at: event.at })
              }
            }
          } catch (error) {
            if (error instanceof UnsupportedError) {
              fallback = localOutcomes(app).subscribe(listener)
              return
            }
            if (!failing) app.logger.warn({ err: error }, 'alerts: cannot read the event stream; retrying')
            failing = true
          }
          await sleep(1000, stop.signal).catch(() => undefined)
        }
      }
      void follow()
      return () => {
        stop.abort()
        fallback?.()
      }
    },
  }
}

/** The inputs of an app: its broker's stats, the coordination store's heartbeats and ticks, the fleet's outcomes. */
export function appInputs(
  app: Pick<App, 'broker' | 'events' | 'logger'>,
  coordination: CoordinationStore,
  outcomes: OutcomeFeed = streamOutcomes(app),
): AlertInputs {
  return {
    now: () => Date.now(),
    queueStats: (queue) => app.broker.stats(queue),
    heartbeats: () => coordination.listHeartbeats(),
    lastTick: (schedule) => coordination.lastTick(schedule),
    outcomes,
  }
}
