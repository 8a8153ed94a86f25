import { type App, type ConveyorEvent, EVENT_TYPES, type EventType } from '@conveyor/core'
import type { EventPayload } from '@conveyor/core/adapter'
import type { DashboardEvents } from './types'

/**
 * Events of this process only, from `app.events` listeners: what the dashboard uses when the app has no event stream
 * (its broker offers none), and sees then only the workers and producers running beside it.
 */
export function inProcessEvents(app: Pick<App, 'events'>): DashboardEvents {
  return {
    local: true,
    subscribe(listener) {
      const offs = EVENT_TYPES.map((type: EventType) =>
        app.events.on(type, (payload: EventPayload<typeof type>) => listener({ ...payload, type } as ConveyorEvent)),
      )
      return () => {
        for (const off of offs) off()
      }
    },
  }
}
