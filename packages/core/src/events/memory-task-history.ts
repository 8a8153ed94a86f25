import type { ConveyorEvent, TaskEvent } from '../contracts/event-stream'
import type { HistoryRetention, TaskHistory, TaskRunPage, TaskRunQuery } from '../contracts/task-history'
import { InvalidOptionsError } from '../errors/invalid-options-error'
import { foldRun, type RunRecord, runDetail, runSummary } from './fold-run'

export interface MemoryTaskHistoryOptions {
  /** Defaults to 10,000 runs (it lives in process memory) and 7 days. */
  readonly retention?: HistoryRetention
}

export const DEFAULT_HISTORY_MAX_AGE_MS = 7 * 86_400_000

/**
 * Task history in process memory: the reference `TaskHistory`, the memory result backend's, and what a reader folds
 * the event stream into when the app's results have no shared store (RabbitMQ RPC results). Bounded by `maxRuns`.
 */
export function createMemoryTaskHistory(options: MemoryTaskHistoryOptions = {}): TaskHistory {
  const maxRuns = options.retention?.maxRuns ?? 10_000
  const maxAgeMs = options.retention?.maxAgeMs ?? DEFAULT_HISTORY_MAX_AGE_MS
  if (!(Number.isInteger(maxRuns) && maxRuns >= 1)) {
    throw new InvalidOptionsError(`[memory] history retention.maxRuns must be an integer ≥ 1, got ${maxRuns}`)
  }
  // Insertion order is close to enqueue order: eviction takes the first keys.
  const runs = new Map<string, RunRecord>()

  const evict = (now: number) => {
    for (const [id, run] of runs) {
      if (runs.size <= maxRuns && run.enqueuedAt >= now - maxAgeMs) break
      runs.delete(id)
    }
  }

  return {
    name: 'memory',
    retention: { maxRuns, maxAgeMs },
    searchesInput: true,
    async connect() {},
    async close() {},
    async record(events: readonly ConveyorEvent[]) {
      for (const event of events) {
        if (!event.type.startsWith('task.')) continue
        const task = event as TaskEvent
        runs.set(task.id, foldRun(runs.get(task.id), task))
      }
      evict(Date.now())
    },
    async list(query: TaskRunQuery = {}): Promise<TaskRunPage> {
      const limit = checkLimit(query.limit)
      const after = query.cursor === undefined ? undefined : parseCursor(query.cursor)
      const matching = [...runs.values()].filter(
        (run) =>
          (query.state === undefined || run.state === query.state) &&
          (query.queue === undefined || run.queue === query.queue) &&
          (query.task === undefined || run.task === query.task) &&
          (query.since === undefined || run.enqueuedAt >= query.since) &&
          (query.until === undefined || run.enqueuedAt < query.until) &&
          (query.search === undefined || matches(run, query.search)) &&
          (after === undefined || olderThan(run, after)),
      )
      matching.sort((a, b) => b.enqueuedAt - a.enqueuedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      const page = matching.slice(0, limit)
      const last = page.at(-1)
      return {
        runs: page.map(runSummary),
        ...(matching.length > limit && last ? { next: `${last.enqueuedAt}:${last.id}` } : {}),
      }
    },
    async get(id: string) {
      const run = runs.get(id)
      return run === undefined ? undefined : runDetail(run)
    },
    async count() {
      return runs.size
    },
  }
}

function matches(run: RunRecord, search: string): boolean {
  return run.id.includes(search) || run.task.includes(search) || (run.input?.includes(search) ?? false)
}

function olderThan(run: RunRecord, cursor: { at: number; id: string }): boolean {
  return run.enqueuedAt < cursor.at || (run.enqueuedAt === cursor.at && run.id < cursor.id)
}

/** Page sizes every history accepts: 1–500, default 50. */
export function checkLimit(limit: number | undefined): number {
  const value = limit ?? 50
  if (!(Number.isInteger(value) && value >= 1 && value <= 500)) {
    throw new InvalidOptionsError(`history list limit must be an integer from 1 to 500, got ${limit}`)
  }
  return value
}

/** Cursors are `<enqueuedAt>:<id>` of the last run of the previous page. */
export function parseCursor(cursor: string): { at: number; id: string } {
  const colon = cursor.indexOf(':')
  const at = Number(cursor.slice(0, colon))
  if (colon < 1 || !Number.isFinite(at)) {
    throw new InvalidOptionsError(`not a history cursor: "${cursor.slice(0, 80)}" (pass TaskRunPage.next as given)`)
  }
  return { at, id: cursor.slice(colon + 1) }
}
