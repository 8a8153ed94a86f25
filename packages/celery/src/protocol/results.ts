import type { ErrorInfo, JsonValue, TaskRecord, TaskState } from '@conveyor/core/adapter'
import { fromCeleryTime, toCeleryTime } from './time'

/** Celery's task states (celery/states.py) that Conveyor writes or reads. */
export type CeleryState = 'PENDING' | 'RECEIVED' | 'STARTED' | 'RETRY' | 'SUCCESS' | 'FAILURE' | 'REVOKED'

/** Celery's serialized exception (`backend.prepare_exception` with the JSON serializer). */
export interface CeleryException {
  readonly exc_type: string
  readonly exc_message: readonly unknown[]
  readonly exc_module: string | null
}

/** A result as Celery's key-value backends store it (`celery-task-meta-<id>`) and the RPC backend sends it. */
export interface CeleryResultMeta {
  readonly task_id: string
  readonly status: CeleryState | (string & {})
  readonly result: unknown
  readonly traceback: string | null
  readonly children: readonly unknown[]
  /** ISO time the run became ready; null before. */
  readonly date_done?: string | null
}

/** Celery states that end a run (`celery.states.READY_STATES`). */
export const CELERY_READY_STATES: ReadonlySet<string> = new Set(['SUCCESS', 'FAILURE', 'REVOKED'])

const stateToCelery: Record<TaskState, CeleryState | undefined> = {
  // Celery never stores PENDING: it is what a missing key means.
  pending: undefined,
  started: 'STARTED',
  retrying: 'RETRY',
  succeeded: 'SUCCESS',
  failed: 'FAILURE',
  'dead-lettered': 'FAILURE',
  expired: 'REVOKED',
  revoked: 'REVOKED',
}

// Python builtins a JavaScript error maps onto by name; any other name becomes a class Celery makes up on the fly.
const PYTHON_BUILTINS = new Set(['TypeError', 'ValueError', 'KeyError', 'RuntimeError', 'Exception'])

/** Conveyor's error as Celery serializes exceptions, so Python's `AsyncResult.get()` raises it. */
export function toCeleryException(error: ErrorInfo | undefined): CeleryException {
  const name = error?.name && /^[A-Za-z_][A-Za-z0-9_]*$/.test(error.name) ? error.name : 'Error'
  return {
    exc_type: name,
    exc_message: [error?.message ?? 'task failed'],
    exc_module: PYTHON_BUILTINS.has(name) ? 'builtins' : null,
  }
}

/** The Celery result meta of a Conveyor record, or undefined for states Celery does not store (pending). */
export function recordToCeleryMeta(record: TaskRecord): CeleryResultMeta | undefined {
  const status = stateToCelery[record.state]
  if (status === undefined) return undefined
  const ready = CELERY_READY_STATES.has(status)
  return {
    status,
    result: resultOf(record, status),
    traceback: status === 'FAILURE' || status === 'RETRY' ? (record.error?.stack ?? null) : null,
    children: [],
    date_done: ready ? toCeleryTime(record.finishedAt ?? record.updatedAt).replace('+00:00', '') : null,
    task_id: record.id,
  }
}

function resultOf(record: TaskRecord, status: CeleryState): unknown {
  switch (status) {
    case 'SUCCESS':
      return record.result ?? null
    case 'STARTED':
      return { pid: process.pid, hostname: `conveyor@${process.pid}` }
    case 'REVOKED':
      return {
        exc_type: 'TaskRevokedError',
        exc_message: [record.state === 'expired' ? 'expired' : 'revoked'],
        exc_module: 'celery.exceptions',
      }
    default:
      return toCeleryException(record.error)
  }
}

const celeryToState: Record<string, TaskState> = {
  PENDING: 'pending',
  RECEIVED: 'pending',
  STARTED: 'started',
  RETRY: 'retrying',
  SUCCESS: 'succeeded',
  FAILURE: 'failed',
  REVOKED: 'revoked',
}

/** Read a Celery result meta as a Conveyor record. Unknown (custom) states read as `started`. */
export function celeryMetaToRecord(
  meta: CeleryResultMeta,
  fallback: { task?: string; queue?: string } = {},
): TaskRecord {
  const state = celeryToState[meta.status] ?? 'started'
  const done = fromCeleryTime(meta.date_done)
  const updatedAt = done !== undefined && !Number.isNaN(done) ? done : Date.now()
  const error = state === 'failed' || state === 'retrying' || state === 'revoked' ? errorOf(meta) : undefined
  return {
    id: meta.task_id,
    task: fallback.task ?? '',
    queue: fallback.queue ?? '',
    state,
    attempt: 1,
    ...(state === 'succeeded' ? { result: (meta.result ?? null) as JsonValue } : {}),
    ...(error !== undefined ? { error } : {}),
    ...(CELERY_READY_STATES.has(meta.status) ? { finishedAt: updatedAt } : {}),
    updatedAt,
  }
}

function errorOf(meta: CeleryResultMeta): ErrorInfo {
  const exc = meta.result as Partial<CeleryException> | null
  const name = typeof exc?.exc_type === 'string' ? exc.exc_type : 'Error'
  const args = Array.isArray(exc?.exc_message) ? exc.exc_message : [exc?.exc_message ?? '']
  return {
    name,
    message: args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(', '),
    ...(meta.traceback ? { stack: meta.traceback } : {}),
  }
}

/** Check that a decoded value looks like a Celery result meta. */
export function isCeleryResultMeta(value: unknown): value is CeleryResultMeta {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Record<string, unknown>
  return typeof v.task_id === 'string' && typeof v.status === 'string'
}
