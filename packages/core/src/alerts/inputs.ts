import type { App } from '../app/create-app'
import type { QueueStats } from '../contracts/broker'
import type { CoordinationStore, WorkerHeartbeat } from '../ops/coordination'

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

/** The inputs of an app: its broker's stats, the coordination store's heartbeats and ticks, its local outcomes. */
export function appInputs(
  app: Pick<App, 'broker' | 'events'>,
  coordination: CoordinationStore,
  outcomes: OutcomeFeed = localOutcomes(app),
): AlertInputs {
  return {
    now: () => Date.now(),
    queueStats: (queue) => app.broker.stats(queue),
    heartbeats: () => coordination.listHeartbeats(),
    lastTick: (schedule) => coordination.lastTick(schedule),
    outcomes,
  }
}
