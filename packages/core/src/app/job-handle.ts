import type { Envelope } from '../contracts/envelope'
import type { TaskRecord } from '../contracts/result-backend'
import { NoResultBackendError } from '../errors/no-result-backend-error'
import { TaskFailedError } from '../errors/task-failed-error'
import type { AppCore } from './app-core'
import type { JobHandle, ResultOptions } from './options'
import { noResultsHint } from './resolve'

/** How long `job.result()` waits when no `timeoutMs` is given. */
const DEFAULT_RESULT_TIMEOUT_MS = 30_000

export interface JobHandleOptions {
  /** The envelope this process published: lets `record()` say `pending` before a worker wrote anything. */
  readonly enqueued?: Envelope
  /** The enqueue was a duplicate of this run (its idempotency key was held). */
  readonly duplicate?: boolean
}

/** A handle on a task run by id: its result and record, read from the app's result backend. */
export function jobHandle<Output>(
  core: AppCore,
  id: string,
  task: string,
  queue: string,
  { enqueued, duplicate = false }: JobHandleOptions = {},
): JobHandle<Output> {
  const { broker, results, ready } = core
  return {
    id,
    task,
    queue,
    duplicate,
    async result(resultOptions: ResultOptions = {}) {
      if (!results) {
        throw new NoResultBackendError(noResultsHint(broker.name))
      }
      await ready()
      const record = await results.wait(id, {
        timeoutMs: resultOptions.timeoutMs ?? DEFAULT_RESULT_TIMEOUT_MS,
        ...(resultOptions.signal ? { signal: resultOptions.signal } : {}),
      })
      if (record.state !== 'succeeded') throw new TaskFailedError(record)
      return record.result as Output
    },
    async record() {
      if (!results) throw new NoResultBackendError(noResultsHint(broker.name))
      await ready()
      const stored = await results.get(id)
      if (stored !== undefined || enqueued === undefined) return stored
      // Nothing written yet: it is waiting on the broker (enqueues do not pay a result write).
      return {
        id,
        task,
        queue,
        state: 'pending',
        attempt: 1,
        enqueuedAt: enqueued.createdAt,
        updatedAt: enqueued.createdAt,
      } satisfies TaskRecord
    },
  }
}
