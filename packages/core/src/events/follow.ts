import type { EventPosition, EventStream } from '../contracts/event-stream'
import type { TaskHistory } from '../contracts/task-history'
import type { Logger } from '../logging/logger'
import { sleep } from '../util/sleep'

export interface FollowOptions {
  readonly stream: EventStream
  readonly history: TaskHistory
  /** Where to start. Defaults to `'start'`: everything the stream retains, so a restarted reader rebuilds its history. */
  readonly from?: EventPosition
  readonly signal?: AbortSignal
  /** Where a failed read or write is reported (once per outage). */
  readonly logger?: Logger
  /** Called after each batch was recorded, with the offset it ended at (persist it to resume there). */
  readonly onBatch?: (cursor: string) => void
}

/**
 * Fold an event stream into a task history until `signal` aborts: how a reader gets a history when the app's result
 * backend keeps none (RabbitMQ RPC results) — into a bounded memory history, rebuilt from the stream's retained window
 * on restart. Resolves when aborted; read or write failures are retried every second.
 */
export async function followIntoHistory(options: FollowOptions): Promise<void> {
  const { stream, history, signal } = options
  let position: EventPosition = options.from ?? 'start'
  let failing = false
  while (!signal?.aborted) {
    try {
      const page = await stream.read(position, { limit: 1000, blockMs: 2000, ...(signal ? { signal } : {}) })
      if (page.events.length > 0) await history.record(page.events.map((stored) => stored.event))
      position = { after: page.cursor }
      options.onBatch?.(page.cursor)
      failing = false
    } catch (error) {
      if (!failing) options.logger?.warn({ err: error }, 'could not follow the event stream into history; retrying')
      failing = true
      await sleep(1000)
    }
  }
}
