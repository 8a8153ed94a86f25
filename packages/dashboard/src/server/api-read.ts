import type { TaskState } from '@conveyor/core'
import { workflowView } from './api-workflow'
import type { ApiContext, RouteHandler } from './context'
import { deadLetterFilter } from './dead-letter-filter'
import { HttpError, intParam, json } from './http'
import type { TrackedWorker } from './trackers'

const HOUR_MS = 3_600_000
const STATES: readonly TaskState[] = [
  'pending',
  'started',
  'retrying',
  'succeeded',
  'failed',
  'dead-lettered',
  'expired',
  'revoked',
]
/** Dead letters scanned at most when a filter is given (a filter over a million entries would stall the page). */
const FILTER_SCAN_LIMIT = 10_000

async function queueRows(ctx: ApiContext) {
  const names = await ctx.monitor.queues()
  const last = ctx.monitor.samples(HOUR_MS).at(-1)
  return Promise.all(
    names.map(async (name) => {
      const stats = await ctx.app.broker.stats(name).catch(() => ctx.monitor.lastStats[name])
      const rates = ctx.monitor.rates(name)
      return {
        name,
        ready: stats?.ready ?? null,
        delayed: stats?.delayed ?? null,
        inFlight: stats?.inFlight ?? null,
        dead: stats?.dead ?? null,
        rateIn: rates.in,
        rateOut: rates.out,
        oldestAgeMs: last?.oldestAgeMs[name] ?? null,
      }
    }),
  )
}

export const meta: RouteHandler = async (ctx) =>
  json({
    title: ctx.title,
    readOnly: ctx.readOnly,
    broker: ctx.app.broker.name,
    results: ctx.app.results?.name ?? null,
    coordination: ctx.coordination ? { name: ctx.coordination.name, scope: ctx.coordination.scope } : null,
    historyLocal: ctx.historyLocal,
    eventsLocal: ctx.eventsLocal,
    schedules: ctx.scheduler !== undefined,
  })

export const overview: RouteHandler = async (ctx) => {
  const [queues, workers] = await Promise.all([queueRows(ctx), workerRows(ctx)])
  return json({ queues, workers: workers.length, samples: ctx.monitor.samples(HOUR_MS), now: Date.now() })
}

/** Live workers: the coordination store's heartbeats, and those the event stream announced (with concurrency). */
async function workerRows(ctx: ApiContext): Promise<TrackedWorker[]> {
  const beats = (await ctx.coordination?.listHeartbeats().catch(() => undefined)) ?? []
  const byId = new Map<string, TrackedWorker>()
  for (const worker of ctx.monitor.workers.list()) byId.set(worker.id, worker)
  for (const beat of beats) {
    const concurrency = ctx.monitor.workers.concurrency(beat.id)
    byId.set(beat.id, concurrency === undefined ? beat : { ...beat, concurrency })
  }
  return [...byId.values()].sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : 1))
}

export const queues: RouteHandler = async (ctx) => json({ queues: await queueRows(ctx) })

export const workers: RouteHandler = async (ctx) => {
  const configured = ctx.coordination !== undefined || !ctx.eventsLocal
  return json({ workers: await workerRows(ctx), configured, now: Date.now() })
}

export const tasks: RouteHandler = async (ctx, { url }) => {
  const state = url.searchParams.get('state') || undefined
  if (state !== undefined && !STATES.includes(state as TaskState)) {
    throw new HttpError(400, 'CONVEYOR_DASHBOARD_BAD_REQUEST', `state must be one of ${STATES.join(', ')}`)
  }
  const text = (name: string) => url.searchParams.get(name) || undefined
  const page = await ctx.history.list({
    ...(state !== undefined ? { state: state as TaskState } : {}),
    ...(text('queue') !== undefined ? { queue: text('queue') } : {}),
    ...(text('task') !== undefined ? { task: text('task') } : {}),
    ...(text('q') !== undefined ? { search: text('q') } : {}),
    ...(text('cursor') !== undefined ? { cursor: text('cursor') } : {}),
    // A trailing window in seconds ("the last hour"), resolved here so the page's URL stays the same between reloads.
    ...(url.searchParams.get('window') ? { since: Date.now() - intParam(url, 'window', 0, 366 * 86_400) * 1000 } : {}),
    limit: intParam(url, 'limit', 50, 200),
  })
  return json({ ...page, local: ctx.historyLocal })
}

export const task: RouteHandler = async (ctx, { params }) => {
  const id = params[0]!
  const [run, record, revoked, workflow] = await Promise.all([
    ctx.history.get(id).catch(() => undefined),
    ctx.app.results?.get(id).catch(() => undefined),
    ctx.coordination?.isRevoked(id).catch(() => false),
    workflowView(ctx.app, id).catch(() => undefined),
  ])
  if (run === undefined && record === undefined && workflow === undefined) {
    throw new HttpError(404, 'CONVEYOR_DASHBOARD_NOT_FOUND', `no task run ${id} in the history or the result backend`)
  }
  return json({
    run: run ?? null,
    record: record ?? workflow?.record ?? null,
    revoked: revoked === true,
    ...(workflow ? { workflow: { total: workflow.total, states: workflow.states, members: workflow.members } } : {}),
  })
}

export const deadLetters: RouteHandler = async (ctx, input) =>
  ctx.deadLetterLock.run(input.params[0]!, () => listDeadLetters(ctx, input))

const listDeadLetters: RouteHandler = async (ctx, { params, url }) => {
  const queue = params[0]!
  const store = ctx.app.broker.deadLetters
  const limit = intParam(url, 'limit', 50, 500)
  const offset = intParam(url, 'offset', 0, Number.MAX_SAFE_INTEGER)
  const filter = url.searchParams.get('filter') || undefined
  const total = await store.count(queue)
  if (filter === undefined) {
    // Newest first: the store lists oldest first, so page from the end.
    const end = Math.max(0, total - offset)
    const start = Math.max(0, end - limit)
    const items = end === 0 ? [] : await store.list(queue, { offset: start, limit: end - start })
    return json({ queue, total, matching: total, offset, items: items.reverse(), scanned: total })
  }
  const matching = (await scanDeadLetters(ctx, queue, FILTER_SCAN_LIMIT)).filter(deadLetterFilter(filter)).reverse()
  return json({
    queue,
    total,
    matching: matching.length,
    offset,
    items: matching.slice(offset, offset + limit),
    scanned: Math.min(total, FILTER_SCAN_LIMIT),
  })
}

/** Up to `max` dead letters of `queue`, oldest first, read in pages. */
export async function scanDeadLetters(ctx: ApiContext, queue: string, max: number) {
  const all = []
  for (let offset = 0; offset < max; offset += 500) {
    const page = await ctx.app.broker.deadLetters.list(queue, { offset, limit: Math.min(500, max - offset) })
    all.push(...page)
    if (page.length < 500) break
  }
  return all
}

export const schedules: RouteHandler = async (ctx) => {
  if (ctx.scheduler === undefined) return json({ schedules: [], configured: false })
  return json({
    schedules: await ctx.scheduler.list(5),
    configured: true,
    shared: ctx.coordination?.scope === 'shared',
  })
}
