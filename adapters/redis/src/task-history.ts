import { InvalidOptionsError, NotConnectedError } from '@conveyor/core'
import {
  type ConveyorEvent,
  DEFAULT_HISTORY_MAX_AGE_MS,
  foldRun,
  type HistoryRetention,
  MAX_RUN_LINES,
  type RunRecord,
  runDetail,
  safeJsonParse,
  type TaskEvent,
  type TaskHistory,
  type TaskRunPage,
  type TaskRunQuery,
} from '@conveyor/core/adapter'
import { closeClient, ensureConnected, openClient, splitUrl } from './connection'
import type { RedisClient, RedisConnectionOptions } from './options'
import { keyPrefixOf, runScript } from './scripts'
import { eventArgs } from './task-history-codec'
import { listRuns } from './task-history-list'

export interface RedisTaskHistoryOptions extends RedisConnectionOptions {
  /** Defaults to 100,000 runs and 7 days. */
  readonly retention?: HistoryRetention
  /** Most index entries one `list` call scans before it returns a short page with a cursor. Defaults to 5,000. */
  readonly scanLimit?: number
  /**
   * Most milliseconds one `list` call spends scanning (Redis's clock, checked every 200 entries) before it returns a
   * short page with a cursor: a filter or search that matches little never holds the server longer, however loaded.
   * Defaults to 50; 0 = only `scanLimit` bounds it.
   */
  readonly scanBudgetMs?: number
}

/** Hash tag of every history key (one cluster slot). */
export function historyTag(prefix: string): string {
  return `{${prefix}:history}`
}

/** Validated options: where the history lives and how much it keeps. */
function historySettings(options: RedisTaskHistoryOptions) {
  const prefix = options.prefix ?? (options.url !== undefined ? splitUrl(options.url).prefix : undefined) ?? 'conveyor'
  const maxRuns = options.retention?.maxRuns ?? 100_000
  const maxAgeMs = options.retention?.maxAgeMs ?? DEFAULT_HISTORY_MAX_AGE_MS
  if (!(Number.isInteger(maxRuns) && maxRuns >= 1)) {
    throw new InvalidOptionsError(`[redis] history retention.maxRuns must be an integer ≥ 1, got ${maxRuns}`)
  }
  // 0, a fraction or NaN reached the script as a bound no entry passes: every page came back empty without a cursor.
  const scanLimit = options.scanLimit ?? 5000
  if (!(Number.isInteger(scanLimit) && scanLimit >= 1)) {
    throw new InvalidOptionsError(`[redis] history scanLimit must be an integer ≥ 1, got ${scanLimit}`)
  }
  const budgetMs = options.scanBudgetMs ?? 50
  if (!(Number.isFinite(budgetMs) && budgetMs >= 0)) {
    throw new InvalidOptionsError(`[redis] history scanBudgetMs must be a number ≥ 0, got ${budgetMs}`)
  }
  return {
    prefix,
    tag: historyTag(prefix),
    retention: { maxRuns, maxAgeMs },
    scan: { limit: scanLimit, budgetMs },
  }
}

/** Fold a batch of events into the history: one script call (never one per job); worker events are skipped. */
async function recordEvents(
  client: RedisClient,
  { tag, retention }: { tag: string; retention: Required<HistoryRetention> },
  events: readonly ConveyorEvent[],
  encoded: readonly string[] | undefined,
): Promise<void> {
  // The script builds the other keys from the tag: it gets the tag as stored, with the client's keyPrefix.
  const scriptTag = keyPrefixOf(client) + tag
  const args: (string | number)[] = [scriptTag, Date.now(), retention.maxRuns, retention.maxAgeMs, MAX_RUN_LINES]
  const head = args.length
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!
    if (event.type.startsWith('task.')) args.push(...eventArgs(event as TaskEvent, encoded?.[i]))
  }
  if (args.length === head) return
  await runScript(client, 'history-record', [`${tag}:all`], args)
}

/** A run's detail: its enqueue event and its other events, folded by core's `foldRun` as the memory history does. */
async function runDetailOf(client: RedisClient, tag: string, id: string) {
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
}

/**
 * Task history in Redis beside the results: per run a small hash (summary, enqueue event) and a capped list of its
 * other events; sorted-set indexes by enqueue time for all runs and per state, queue and task. Written by one script
 * call per event batch (never per job); `list` walks the smallest index the query names, newest first, inside a
 * script, bounded per call; the detail folds the run's events with core's `foldRun`, so it reads exactly as the
 * memory history does.
 */
export function createRedisTaskHistory(options: RedisTaskHistoryOptions = {}): TaskHistory {
  const { prefix, tag, retention, scan } = historySettings(options)
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
    retention,
    searchesInput: true,
    connect: ready,
    async close() {
      if (closed) return
      closed = true
      if (owned) await closeClient(client)
      client.off('error', onError)
    },
    async record(events, encoded) {
      if (!events.some((event) => event.type.startsWith('task.'))) return
      await ready()
      await recordEvents(client, { tag, retention }, events, encoded)
    },
    async list(query: TaskRunQuery = {}): Promise<TaskRunPage> {
      await ready()
      return listRuns(client, { tag, query, scan })
    },
    async get(id: string) {
      await ready()
      return runDetailOf(client, tag, id)
    },
    async count() {
      await ready()
      return client.zcard(`${tag}:all`)
    },
  }
}
