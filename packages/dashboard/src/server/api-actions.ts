import {
  DEFAULT_REVOKE_TTL_MS,
  type DeadLetter,
  replayDeadLetters as replayAndAnnounce,
  revokeTask,
} from '@conveyor/core/adapter'
import { scanDeadLetters } from './api-read'
import type { ApiContext, RouteHandler } from './context'
import { deadLetterFilter } from './dead-letter-filter'
import { HttpError, json, readBody } from './http'

/** Every dead letter of a queue an action may touch at once. */
const ACTION_SCAN_LIMIT = 100_000

const bad = (message: string) => new HttpError(400, 'CONVEYOR_DASHBOARD_BAD_REQUEST', message)

/** The dead letters an action targets: those with the given `ids`, or every one matching `filter` (all when empty). */
async function selectDeadLetters(ctx: ApiContext, queue: string, body: Record<string, unknown>): Promise<DeadLetter[]> {
  let matches: (dead: DeadLetter) => boolean
  if (body.ids !== undefined) {
    if (!Array.isArray(body.ids) || !body.ids.every((id) => typeof id === 'string') || body.ids.length > 10_000) {
      throw bad('ids must be an array of at most 10,000 strings')
    }
    const ids = new Set(body.ids as string[])
    matches = (dead) => ids.has(dead.id)
  } else {
    if (body.filter !== undefined && typeof body.filter !== 'string') throw bad('filter must be a string')
    matches = deadLetterFilter(body.filter as string | undefined)
  }
  return (await scanDeadLetters(ctx, queue, ACTION_SCAN_LIMIT)).filter(matches)
}

export const purgeQueue: RouteHandler = async (ctx, { params, request }) => {
  const queue = params[0]!
  const body = await readBody(request)
  // The page asks first; the API insists on being told the queue's name, so a stray call purges nothing.
  if (body.confirm !== queue) throw bad(`purge needs { "confirm": ${JSON.stringify(queue)} }`)
  const removed = await ctx.app.broker.purge(queue)
  return json({ queue, removed })
}

export const replayDeadLetters: RouteHandler = async (ctx, { params, request }) => {
  const queue = params[0]!
  const body = await readBody(request)
  return ctx.deadLetterLock.run(queue, () => replay(ctx, queue, body))
}

async function replay(ctx: ApiContext, queue: string, body: Record<string, unknown>): Promise<Response> {
  // Malformed entries are never replayed: they are not counted either.
  const selected = (await selectDeadLetters(ctx, queue, body)).filter((dead) => dead.envelope !== undefined)
  if (body.dryRun === true) return json({ queue, dryRun: true, count: selected.length })
  // Announced as task.replayed first; fewer than asked when another process replayed or purged some meanwhile.
  const replayed = await replayAndAnnounce({ app: ctx.app, queue, deadLetters: selected })
  return json({ queue, replayed })
}

export const purgeDeadLetters: RouteHandler = async (ctx, { params, request }) => {
  const queue = params[0]!
  const body = await readBody(request)
  return ctx.deadLetterLock.run(queue, () => purgeSelected(ctx, queue, body))
}

async function purgeSelected(ctx: ApiContext, queue: string, body: Record<string, unknown>): Promise<Response> {
  const ids = (await selectDeadLetters(ctx, queue, body)).map((dead) => dead.id)
  if (body.dryRun === true) return json({ queue, dryRun: true, count: ids.length })
  if (body.confirm !== true) throw bad('purging dead letters needs { "confirm": true }')
  const removed = ids.length === 0 ? 0 : await ctx.app.broker.deadLetters.purge(queue, ids)
  return json({ queue, removed })
}

export const revoke: RouteHandler = async (ctx, { params }) => {
  if (!ctx.coordination) {
    throw new HttpError(
      409,
      'CONVEYOR_DASHBOARD_NO_COORDINATION',
      'revoking needs a coordination store shared with the workers: pass createDashboard({ coordination })',
    )
  }
  const id = params[0]!
  await revokeTask(ctx.coordination, id, DEFAULT_REVOKE_TTL_MS)
  return json({ id, revoked: true })
}
