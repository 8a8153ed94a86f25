import type { App, TaskEventName, TaskEvents } from '@conveyor/core'
import type { DashboardEvent, DashboardEvents } from './types'

const TASK_EVENTS: readonly TaskEventName[] = [
  'task.enqueued',
  'task.started',
  'task.succeeded',
  'task.retried',
  'task.failed',
  'task.dead-lettered',
  'task.expired',
  'task.revoked',
]

/**
 * Events of this process only, from `app.events`: what the dashboard sees when it runs beside the app's workers and
 * producers (tests, a single-process deployment).
 */
export function inProcessEvents(app: Pick<App, 'events'>): DashboardEvents {
  return {
    subscribe(listener) {
      const offs = TASK_EVENTS.map((type) =>
        app.events.on(type, (payload: TaskEvents[typeof type]) => listener({ ...payload, type } as DashboardEvent)),
      )
      return () => {
        for (const off of offs) off()
      }
    },
  }
}
