import { InvalidOptionsError, NotConnectedError } from '@conveyor/core'
import {
  type ConveyorEvent,
  checkHistoryLimit,
  DEFAULT_HISTORY_MAX_AGE_MS,
  encodeEvent,
  foldRun,
  type HistoryRetention,
  MAX_RUN_LINES,
  parseHistoryCursor,
  phaseOf,
  type RunRecord,
  runDetail,
  safeJsonParse,
  stateOfEvent,
  type TaskEvent,
  type TaskHistory,
  type TaskRun,
  type TaskRunPage,
  type TaskRunQuery,
  type TaskState,
} from '@conveyor/core/adapter'
import { closeClient, ensureConnected, openClient, splitUrl } from './connection'
import type { RedisConnectionOptions } from './options'
import { runScript } from './scripts'

export interface RedisTaskHistoryOptions extends RedisConnectionOptions {
  /** Defaults to 100,000 runs and 7 days. */
  readonly retention?: HistoryRetention
  /** Most index entries one `list` call scans before it returns a short page with a cursor. Defaults to 5,000. */
  readonly scanLimit?: number
}

/** Hash tag of every history key (one cluster slot). */
export function historyTag(prefix: string): string {
  return `{${prefix}:history}`
}

/**
 * Task history in Redis beside the results: per run a small hash (summary, enqueue event) and a capped list of its
 * other events; sorted-set indexes by enqueue time for all runs and per state, queue and task. Written by one script
 * call per event batch (never per job); `list` walks one index newest first inside a script, bounded per call; the
 * detail folds the run's events with core's `foldRun`, so it reads exactly as the memory history does.
 */
export function createRedisTaskHistory(options: RedisTaskHistoryOptions = {}): TaskHistory {
  const prefix = options.prefix ?? (options.url !== undefined ? splitUrl(options.url).prefix : undefined) ?? 'conveyor'
  const maxRuns = options.retention?.maxRuns ?? 100_000
  const maxAgeMs = options.retention?.maxAgeMs ?? DEFAULT_HISTORY_MAX_AGE_MS
  const scanLimit = options.scanLimit ?? 5000
  if (!(Number.isInteger(maxRuns) && maxRuns >= 1)) {
    throw new InvalidOptionsError(`[redis] history retention.maxRuns must be an integer ≥ 1, got ${maxRuns}`)
  }
  const tag = historyTag(prefix)
  const { client, owned } = openClient(options, `conveyor:${prefix}:history`)
  const onError = () => undefined // failures surface as rejected calls; the app's publisher logs them once
  client.on('error', onError)
  let closed = false

  const ready = async () => {
    if (closed) throw new NotConnectedError('[conveyor] [redis] task history is closed; create a new one')
    await ensureConnected(client)
  }

  return {
    name: 'redis',
    retention: { maxRuns, maxAgeMs },
    searchesInput: true,
    async connect() {
      await ready()
    },
    async close() {
      if (closed) return
      closed = true
      if (owned) await closeClient(client)
      client.off('error', onError)
    },
    async record(events: readonly ConveyorEvent[], encoded?: readonly string[]) {
      const args: (string | number)[] = [tag, Date.now(), maxRuns, maxAgeMs, MAX_RUN_LINES]
      for (let i = 0; i < events.length; i++) {
        const event = events[i]!
        if (event.type.startsWith('task.')) args.push(...eventArgs(event as TaskEvent, encoded?.[i]))
      }
      if (args.length === 5) return
      await ready()
      await runScript(client, 'history-record', [`${tag}:all`], args)
    },
    async list(query: TaskRunQuery = {}): Promise<TaskRunPage> {
      const limit = checkHistoryLimit(query.limit)
      const cursor = query.cursor === undefined ? undefined : parseHistoryCursor(query.cursor)
      await ready()
      // Walk the most selective index the query names; the script checks the other filters on each run.
      const index =
        query.task !== undefined
          ? `${tag}:t:${query.task}`
          : query.state !== undefined
            ? `${tag}:s:${query.state}`
            : query.queue !== undefined
              ? `${tag}:q:${query.queue}`
              : `${tag}:all`
      const max = cursor !== undefined ? String(cursor.at) : query.until !== undefined ? `(${query.until}` : '+inf'
      const reply = (await runScript(
        client,
        'history-list',
        [index],
        [
          tag,
          max,
          cursor?.id ?? '',
          query.since !== undefined ? String(query.since) : '-inf',
          query.state ?? '',
          query.queue ?? '',
          query.task ?? '',
          query.search ?? '',
          limit,
          scanLimit,
        ],
      )) as string[]
      const runs: TaskRun[] = []
      for (let i = 3; i + 12 < reply.length; i += 13) runs.push(rowToRun(reply.slice(i, i + 13)))
      const done = Number(reply[0]) === 1
      return { runs, ...(!done && reply[2] ? { next: `${reply[1]}:${reply[2]}` } : {}) }
    },
    async get(id: string) {
      await ready()
      const [enq, lines] = (await Promise.all([
        client.hget(`${tag}:r:${id}`, 'enq'),
        client.lrange(`${tag}:e:${id}`, 0, -1),
      ])) as [string | null, string[]]
      let run: RunRecord | undefined
      for (const json of enq === null ? lines : [enq, ...lines]) {
        const event = safeJsonParse(json) as TaskEvent | undefined
        if (event !== undefined) run = foldRun(run, event)
      }
      return run === undefined ? undefined : runDetail(run)
    },
    async count() {
      await ready()
      return client.zcard(`${tag}:all`)
    },
  }
}

/** The 16 script arguments of one event (see lua/history-record.lua); `json`: the event already encoded. */
function eventArgs(event: TaskEvent, json: string | undefined): (string | number)[] {
  const error = 'error' in event ? event.error : undefined
  const phase = phaseOf(event.type)
  const hint = event.type === 'task.started' ? event.enqueuedAt : event.at
  return [
    event.id,
    event.task,
    event.queue,
    event.type,
    event.at,
    event.attempt,
    event.type === 'task.replayed' ? 0 : event.attempt * 4 + phase,
    stateOfEvent(event.type) ?? '',
    phase,
    event.worker ?? '',
    hint,
    error?.name ?? '',
    error?.message ?? '',
    event.type === 'task.enqueued' ? event.priority : '',
    json ?? encodeEvent(event),
    event.type === 'task.enqueued' ? (event.input ?? '') : '',
  ]
}

function rowToRun(row: string[]): TaskRun {
  const [
    id,
    task,
    queue,
    state,
    attempt,
    score,
    startedAt,
    finishedAt,
    updatedAt,
    worker,
    errName,
    errMessage,
    priority,
  ] = row as [string, string, string, string, string, string, string, string, string, string, string, string, string]
  return {
    id,
    task,
    queue,
    state: state as TaskState,
    attempt: Number(attempt),
    enqueuedAt: Number(score),
    updatedAt: Number(updatedAt || score),
    ...(priority !== '' ? { priority: Number(priority) } : {}),
    ...(startedAt !== '' ? { startedAt: Number(startedAt) } : {}),
    ...(finishedAt !== '' ? { finishedAt: Number(finishedAt) } : {}),
    ...(worker !== '' ? { worker } : {}),
    ...(errName !== '' ? { error: { name: errName, message: errMessage } } : {}),
  }
}
