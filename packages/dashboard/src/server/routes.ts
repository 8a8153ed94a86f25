import * as actions from './api-actions'
import * as read from './api-read'
import type { RouteHandler } from './context'

/** One API route: method, path pattern under `api/` (segments captured by groups, URL-decoded), and whether it acts. */
interface Route {
  readonly method: 'GET' | 'POST'
  readonly pattern: RegExp
  readonly handler: RouteHandler
  readonly action: boolean
}

const SEGMENT = '([^/]+)'
const route = (method: 'GET' | 'POST', path: string, handler: RouteHandler): Route => ({
  method,
  pattern: new RegExp(`^${path.replaceAll(':p', SEGMENT)}$`),
  handler,
  action: method === 'POST',
})

export const ROUTES: readonly Route[] = [
  route('GET', 'meta', read.meta),
  route('GET', 'overview', read.overview),
  route('GET', 'queues', read.queues),
  route('POST', 'queues/:p/purge', actions.purgeQueue),
  route('GET', 'workers', read.workers),
  route('GET', 'tasks', read.tasks),
  route('GET', 'tasks/:p', read.task),
  route('POST', 'tasks/:p/revoke', actions.revoke),
  route('GET', 'dead-letters/:p', read.deadLetters),
  route('POST', 'dead-letters/:p/replay', actions.replayDeadLetters),
  route('POST', 'dead-letters/:p/purge', actions.purgeDeadLetters),
  route('GET', 'schedules', read.schedules),
]

/** The route for `path` (below `api/`), its decoded parameters, or why there is none. */
export function matchRoute(method: string, path: string): { route: Route; params: string[] } | { status: 404 | 405 } {
  let methodMismatch = false
  for (const candidate of ROUTES) {
    const match = candidate.pattern.exec(path)
    if (!match) continue
    if (candidate.method !== method && !(method === 'HEAD' && candidate.method === 'GET')) {
      methodMismatch = true
      continue
    }
    try {
      return { route: candidate, params: match.slice(1).map((p) => decodeURIComponent(p)) }
    } catch {
      return { status: 404 }
    }
  }
  return { status: methodMismatch ? 405 : 404 }
}
