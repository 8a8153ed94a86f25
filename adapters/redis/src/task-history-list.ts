import {
  checkHistoryLimit,
  parseHistoryCursor,
  type TaskRun,
  type TaskRunPage,
  type TaskRunQuery,
} from '@conveyor/core/adapter'
import type { RedisClient } from './options'
import { keyPrefixOf, runScript } from './scripts'
import { LIST_VALUES_PER_RUN, rowToRun } from './task-history-codec'

/**
 * The indexes a query can walk: every filter it names has one (state, queue, task), each holding every run the query
 * can match; no filter walks `:all`. The script walks the one with the fewest entries in the time window.
 */
export function candidateIndexes(tag: string, query: TaskRunQuery): string[] {
  const keys: string[] = []
  if (query.state !== undefined) keys.push(`${tag}:s:${query.state}`)
  if (query.task !== undefined) keys.push(`${tag}:t:${query.task}`)
  if (query.queue !== undefined) keys.push(`${tag}:q:${query.queue}`)
  return keys.length > 0 ? keys : [`${tag}:all`]
}

/** How much one list call may scan: entries, and milliseconds (0 = no time bound). */
export interface ScanBounds {
  readonly limit: number
  readonly budgetMs: number
}

/** One page of runs, newest enqueued first: one call of lua/history-list.lua, within the scan bounds. */
export async function listRuns(
  client: RedisClient,
  { tag, query, scan }: { tag: string; query: TaskRunQuery; scan: ScanBounds },
): Promise<TaskRunPage> {
  const limit = checkHistoryLimit(query.limit)
  const cursor = query.cursor === undefined ? undefined : parseHistoryCursor(query.cursor)
  const max = cursor !== undefined ? String(cursor.at) : query.until !== undefined ? `(${query.until}` : '+inf'
  const reply = (await runScript(client, 'history-list', candidateIndexes(tag, query), [
    // The script builds run keys from the tag: it gets the tag as stored, with the client's keyPrefix.
    keyPrefixOf(client) + tag,
    max,
    cursor?.id ?? '',
    query.since !== undefined ? String(query.since) : '-inf',
    query.state ?? '',
    query.queue ?? '',
    query.task ?? '',
    query.search ?? '',
    limit,
    scan.limit,
    scan.budgetMs,
  ])) as string[]
  const runs: TaskRun[] = []
  for (let i = 3; i + LIST_VALUES_PER_RUN - 1 < reply.length; i += LIST_VALUES_PER_RUN) {
    runs.push(rowToRun(reply.slice(i, i + LIST_VALUES_PER_RUN)))
  }
  const done = Number(reply[0]) === 1
  return { runs, ...(!done && reply[2] ? { next: `${reply[1]}:${reply[2]}` } : {}) }
}
