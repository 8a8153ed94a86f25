import { createScheduler, type TaskHistory } from '@conveyor/core'
import { createMemoryCoordination, createMemoryTaskHistory } from '@conveyor/core/adapter'
import { inProcessEvents } from '../feed/in-process'
import { streamEvents } from '../feed/stream'
import type { DashboardEvents } from '../feed/types'
import type { DashboardOptions } from '../options'
import type { ApiContext } from './context'
import { KeyedLock } from './keyed-lock'
import { Monitor } from './monitor'

/** The app's event stream when it has one, else this process's own events. */
function eventsFor(options: DashboardOptions): DashboardEvents {
  const { app } = options
  if (options.events) return options.events
  if (!app.events.stream) return inProcessEvents(app)
  return streamEvents(app, {
    onError: (error) => app.logger.warn({ err: error }, 'dashboard: cannot read the event stream'),
  })
}

/**
 * Where the dashboard reads everything it shows: events, the task history (the shared one, or a bounded one of its
 * own folded from the events it reads), the monitor that samples the charts, and the scheduler of its schedules.
 * The monitor is created, not started.
 */
export function buildContext(options: DashboardOptions): ApiContext {
  const { app } = options
  const events = eventsFor(options)
  const shared = options.history ?? app.history
  // Without a shared history, fold what this process reads into a bounded one of its own.
  const own = shared === undefined ? createMemoryTaskHistory({ retention: { maxRuns: 10_000 } }) : undefined
  const history: TaskHistory = shared ?? own!
  const monitor = new Monitor({
    app,
    events,
    ...(own ? { onEvent: (event) => void own.record([event]) } : {}),
    extraQueues: options.queues ?? [],
    sampleIntervalMs: options.sampleIntervalMs ?? 5000,
    liveIntervalMs: options.liveIntervalMs ?? 500,
  })
  const schedules = options.schedules ?? []
  const scheduler =
    schedules.length > 0
      ? createScheduler(app, { coordination: options.coordination ?? createMemoryCoordination(), schedules })
      : undefined
  return {
    app,
    coordination: options.coordination,
    history,
    historyLocal: own !== undefined,
    eventsLocal: events.local,
    monitor,
    deadLetterLock: new KeyedLock(),
    scheduler,
    readOnly: options.readOnly === true,
    title: options.title ?? 'Conveyor',
  }
}
