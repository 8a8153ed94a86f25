import type { Broker } from '../contracts/broker'
import type { Envelope } from '../contracts/envelope'
import type { ResultBackend } from '../contracts/result-backend'
import { toErrorInfo } from '../envelope/error-info'
import { AppEvents, type AppEventsOptions } from '../events/app-events'
import type { Logger } from '../logging/logger'

/** Build `app.events` from `createApp({ events })`, the broker's stream and the result backend's history. */
export function createAppEvents(
  given: boolean | AppEventsOptions | undefined,
  broker: Broker,
  results: ResultBackend | undefined,
  logger: Logger,
): AppEvents {
  const options: AppEventsOptions = typeof given === 'object' ? given : {}
  // Off unless asked for (see AppEventsOptions.publish): `events: true`, or an options object.
  const publish = given === undefined || given === false ? false : given === true || (options.publish ?? true)
  const stream =
    options.stream === false
      ? undefined
      : (options.stream ??
        broker.eventStream?.(options.retention !== undefined ? { retention: options.retention } : undefined))
  const history =
    options.history === false
      ? undefined
      : (options.history ??
        results?.taskHistory?.(
          options.historyRetention !== undefined ? { retention: options.historyRetention } : undefined,
        ))
  return new AppEvents({ stream, history, publish, logger, options })
}

/**
 * Write `task.enqueued` for these envelopes to the stream and wait (bounded) until it is there, before the broker
 * gets the messages: a worker's `task.started` then cannot come before it in the stream. One write per enqueue call,
 * shared by concurrent calls; nothing at all when the app does not publish.
 */
export async function announceToStream(events: AppEvents, envelopes: readonly Envelope[]): Promise<void> {
  if (!events.publishing) return
  for (const envelope of envelopes) {
    const input = events.valueText(envelope.payload)
    events.toSink('task.enqueued', {
      id: envelope.id,
      task: envelope.task,
      queue: envelope.queue,
      attempt: envelope.attempt,
      at: envelope.createdAt,
      priority: envelope.priority,
      maxAttempts: envelope.maxAttempts,
      ...(envelope.notBefore !== undefined ? { notBefore: envelope.notBefore } : {}),
      ...(envelope.expiresAt !== undefined ? { expiresAt: envelope.expiresAt } : {}),
      ...(envelope.parentId !== undefined ? { parentId: envelope.parentId } : {}),
      ...(envelope.rootId !== undefined ? { rootId: envelope.rootId } : {}),
      ...(input !== undefined ? { input: input.text, ...(input.truncated ? { inputTruncated: true } : {}) } : {}),
    })
  }
  await events.barrier()
}

/** The broker refused the messages announced above: say so in the stream, so history does not keep them pending. */
export function unannounce(events: AppEvents, envelopes: readonly Envelope[], error: unknown): void {
  if (!events.publishing) return
  const info = toErrorInfo(error)
  const at = Date.now()
  for (const envelope of envelopes) {
    events.toSink('task.failed', {
      id: envelope.id,
      task: envelope.task,
      queue: envelope.queue,
      attempt: envelope.attempt,
      at,
      durationMs: 0,
      error: info,
    })
  }
}

/** In-process listeners hear of an enqueue once the broker has it (the stream heard before: `announceToStream`). */
export function announceLocally(events: AppEvents, envelope: Envelope): void {
  if (!events.wantsLocal('task.enqueued')) return
  events.emitLocal('task.enqueued', {
    id: envelope.id,
    task: envelope.task,
    queue: envelope.queue,
    attempt: 1,
    at: envelope.createdAt,
    priority: envelope.priority,
    maxAttempts: envelope.maxAttempts,
    ...(envelope.notBefore !== undefined ? { notBefore: envelope.notBefore } : {}),
  })
}
