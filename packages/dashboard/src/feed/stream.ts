import type { App, ConveyorEvent, EventPosition } from '@conveyor/core'
import type { DashboardEvents } from './types'

export interface StreamEventsOptions {
  /** Where reading starts. Defaults to `end` (what is published from now on). */
  readonly from?: 'start' | 'end' | { readonly time: number }
  /** Told once per outage when the stream cannot be read (reading goes on with a growing pause). */
  readonly onError?: (error: unknown) => void
}

/**
 * Events of every process of the app, following `app.events.subscribe`. One reader per subscription; after an
 * error it resumes right after the last event it delivered, so an outage of the stream loses nothing it retained.
 */
export function streamEvents(app: Pick<App, 'events'>, options: StreamEventsOptions = {}): DashboardEvents {
  return {
    local: false,
    subscribe(listener: (event: ConveyorEvent) => void) {
      const stop = new AbortController()
      void (async () => {
        let from: EventPosition = options.from ?? 'end'
        let pauseMs = 250
        let failing = false
        while (!stop.signal.aborted) {
          try {
            for await (const stored of app.events.subscribe({ from, signal: stop.signal })) {
              from = { after: stored.offset }
              pauseMs = 250
              failing = false
              listener(stored.event)
            }
          } catch (error) {
            if (stop.signal.aborted) return
            if (!failing) options.onError?.(error)
            failing = true
            await new Promise((resolve) => setTimeout(resolve, pauseMs).unref())
            pauseMs = Math.min(pauseMs * 2, 10_000)
          }
        }
      })()
      return () => stop.abort()
    },
  }
}
