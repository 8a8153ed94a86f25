import type { App } from '@conveyor/core'

/**
 * `conveyor worker --events` / `--no-events`: publish the app's task and worker events (what `createApp({ events:
 * true })` does) or not, whatever the app module chose; undefined leaves its choice. Called before any worker exists.
 * Says so once when `--events` cannot publish (the broker offers no event stream and the results keep no history).
 */
export function applyEventsFlag(app: App, events: boolean | undefined): void {
  if (events === undefined) return
  app.events.setPublishing(events)
  if (events && !app.events.publishing) {
    app.logger.warn(
      `--events: the ${app.broker.name} broker offers no event stream and the result backend keeps no task history; nothing is published`,
    )
  }
}
