import type { TaskState } from '@conveyor/core'
import type { DashboardEvent, DashboardHistory, RunAttempt, RunDetail, RunPage, RunQuery, RunSummary } from './types'

export interface MemoryHistoryOptions {
  /** Most runs kept; the oldest are forgotten first. Defaults to 10,000. */
  readonly maxRuns?: number
}

interface Run {
  id: string
  task: string
  queue: string
  state: TaskState
  attempt: number
  enqueuedAt?: number
  startedAt?: number
  finishedAt?: number
  updatedAt: number
  error?: RunSummary['error']
  reason?: string
  deliveryCount?: number
  attempts: RunAttempt[]
}

const STATE_OF: Readonly<Record<string, TaskState>> = {
  'task.enqueued': 'pending',
  'task.started': 'started',
  'task.succeeded': 'succeeded',
  'task.retried': 'retrying',
  'task.failed': 'failed',
  'task.dead-lettered': 'dead-lettered',
  'task.expired': 'expired',
  'task.revoked': 'revoked',
}

/**
 * A bounded history built from the events this process sees: the dashboard's fallback when no durable history is
 * configured. It forgets everything on restart and holds at most `maxRuns` runs.
 */
export class MemoryHistory implements DashboardHistory {
  readonly local = true
  private readonly runs = new Map<string, Run>()
  private readonly maxRuns: number

  constructor(options: MemoryHistoryOptions = {}) {
    this.maxRuns = options.maxRuns ?? 10_000
  }

  /** Fold one event into its run. */
  record(event: DashboardEvent): void {
    const state = STATE_OF[event.type]
    if (state === undefined) return
    let run = this.runs.get(event.id)
    if (run === undefined) {
      run = {
        id: event.id,
        task: event.task,
        queue: event.queue,
        state,
        attempt: event.attempt,
        updatedAt: event.at,
        attempts: [],
      }
      this.runs.set(event.id, run)
      if (this.runs.size > this.maxRuns) this.runs.delete(this.runs.keys().next().value as string)
    } else {
      // Newest first means most recently changed first: move the run to the end of the insertion order.
      this.runs.delete(event.id)
      this.runs.set(event.id, run)
    }
    run.state = state
    run.attempt = event.attempt
    run.updatedAt = event.at
    if (event.type === 'task.enqueued') run.enqueuedAt = event.at
    if (event.type === 'task.started') {
      run.startedAt = event.at
      run.attempts.push({
        attempt: event.attempt,
        startedAt: event.at,
        ...(event.worker ? { worker: event.worker } : {}),
      })
      return
    }
    if (state !== 'pending' && state !== 'started') {
      if (state !== 'retrying') run.finishedAt = event.at
      if (event.error) run.error = event.error
      if (event.reason) run.reason = event.reason
      const last = run.attempts.at(-1)
      const outcome = event.type.slice('task.'.length)
      if (last !== undefined && last.outcome === undefined && last.attempt === event.attempt) {
        run.attempts[run.attempts.length - 1] = {
          ...last,
          finishedAt: event.at,
          outcome,
          ...(event.error ? { error: event.error } : {}),
        }
      } else if (state !== 'revoked' && state !== 'expired') {
        run.attempts.push({
          attempt: event.attempt,
          finishedAt: event.at,
          outcome,
          ...(event.error ? { error: event.error } : {}),
        })
      }
    }
  }

  async list(query: RunQuery): Promise<RunPage> {
    const limit = Math.min(Math.max(query.limit ?? 50, 1), 500)
    const search = query.search?.toLowerCase()
    const all = [...this.runs.values()]
    let index = all.length - 1
    if (query.cursor !== undefined) {
      const at = all.findIndex((run) => run.id === query.cursor)
      index = at === -1 ? -1 : at - 1
    }
    const runs: RunSummary[] = []
    for (; index >= 0 && runs.length < limit; index--) {
      const run = all[index]!
      if (query.state !== undefined && run.state !== query.state) continue
      if (query.queue !== undefined && run.queue !== query.queue) continue
      if (query.task !== undefined && run.task !== query.task) continue
      if (search !== undefined && !run.id.toLowerCase().includes(search) && !run.task.toLowerCase().includes(search)) {
        continue
      }
      runs.push(summary(run))
    }
    const last = runs.at(-1)
    return index >= 0 && last !== undefined ? { runs, next: last.id } : { runs }
  }

  async get(id: string): Promise<RunDetail | undefined> {
    const run = this.runs.get(id)
    if (run === undefined) return undefined
    return {
      ...summary(run),
      attempts: run.attempts,
      ...(run.reason !== undefined ? { reason: run.reason } : {}),
    }
  }

  async oldestWaiting(queue: string): Promise<number | undefined> {
    let oldest: number | undefined
    for (const run of this.runs.values()) {
      if (run.queue !== queue || run.state !== 'pending' || run.enqueuedAt === undefined) continue
      if (oldest === undefined || run.enqueuedAt < oldest) oldest = run.enqueuedAt
    }
    return oldest
  }
}

function summary(run: Run): RunSummary {
  const { attempts: _attempts, reason: _reason, deliveryCount: _count, ...rest } = run
  return { ...rest }
}
