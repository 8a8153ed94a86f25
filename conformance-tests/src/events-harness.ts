import type {
  EventRetention,
  EventStream,
  HistoryRetention,
  StoredEvent,
  TaskEvent,
  TaskHistory,
} from '@conveyor/core/adapter'
import type { EventStreamSuiteOptions } from './events-suite'
import { newNamespace } from './harness/harness'
import type { BrokerContext } from './options'

/** One test's stream and history, opened on its own namespace and closed after it. */
export class EventsHarness {
  readonly context: BrokerContext = { namespace: newNamespace() }
  private readonly opened: { close(): Promise<void> }[] = []
  private seq = 0

  constructor(readonly options: EventStreamSuiteOptions) {}

  ms(ms: number): number {
    return Math.round(ms * (this.options.timeScale ?? 1))
  }

  async stream(retention?: EventRetention): Promise<EventStream> {
    const stream = await this.options.createStream(this.context, retention)
    this.opened.push(stream)
    await stream.connect()
    return stream
  }

  async history(retention?: HistoryRetention): Promise<TaskHistory> {
    const history = await this.options.createHistory!(this.context, retention)
    this.opened.push(history)
    await history.connect()
    return history
  }

  /** A `task.started` event with a per-test unique id (`n` numbers it within the test). */
  event(n: number, extra: Partial<TaskEvent> = {}): TaskEvent {
    this.seq += 1
    return {
      type: 'task.started',
      id: `${this.context.namespace}-run-${n}`,
      task: 'conformance.events',
      queue: 'q',
      attempt: 1,
      at: Date.now(),
      worker: 'host:1:1',
      deliveryCount: 1,
      enqueuedAt: Date.now() - 5,
      ...extra,
    } as TaskEvent
  }

  async dispose(): Promise<void> {
    await Promise.all(this.opened.map((s) => s.close().catch(() => {})))
    await this.options.cleanup?.(this.context)
  }
}

/** Every event the stream retains, oldest first, read from `'start'` by pages of `limit` (for a plugin's own tests). */
export async function readAllEvents(stream: EventStream, limit = 100): Promise<StoredEvent[]> {
  const out: StoredEvent[] = []
  let page = await stream.read('start', { limit })
  while (page.events.length > 0) {
    out.push(...page.events)
    page = await stream.read({ after: page.cursor }, { limit })
  }
  return out
}

export const ids = (events: readonly StoredEvent[]) => events.map((e) => ('id' in e.event ? e.event.id : e.event.type))

export type EventsTest = {
  title: string
  history?: boolean
  /** Why the test does not apply to this stream, if it does not. */
  notFor?: (stream: EventStream) => string | undefined
  run: (h: EventsHarness) => Promise<void>
}
