import type { ConveyorEvent } from '@conveyor/core'

/**
 * Where the dashboard's live events come from. Deliberately one method: the default follows the app's event stream
 * (`app.events.subscribe`), and a test or an embedding host can hand in anything else that calls back with
 * `ConveyorEvent`s.
 */
export interface DashboardEvents {
  /** Call `listener` for every event from now on, in stream order. Returns the unsubscribe. */
  subscribe(listener: (event: ConveyorEvent) => void): () => void
  /** `true` when the events are only this process's (no cross-process stream): the pages say so. */
  readonly local: boolean
}
