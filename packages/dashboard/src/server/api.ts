import type { ApiContext } from './context'
import type { Csrf } from './csrf'
import { errorJson, errorResponse } from './http'
import { liveResponse } from './live'
import { matchRoute } from './routes'

/**
 * The API under `<base>/api/`: the live event feed, then the routes; actions are refused in read-only mode and
 * without the page's CSRF token. A route's error becomes a JSON error response.
 */
export function apiHandler(ctx: ApiContext, csrf: Csrf) {
  return async (request: Request, path: string): Promise<Response> => {
    if (path === 'live') return liveResponse(ctx.monitor, request.signal)
    const found = matchRoute(request.method, path)
    if ('status' in found) {
      return errorJson(
        found.status,
        'CONVEYOR_DASHBOARD_NOT_FOUND',
        found.status === 404 ? 'no such API route' : 'method not allowed',
      )
    }
    if (found.route.action) {
      if (ctx.readOnly) return errorJson(403, 'CONVEYOR_DASHBOARD_READ_ONLY', 'the dashboard is read-only')
      const refused = csrf.check(request)
      if (refused !== undefined) return errorJson(403, 'CONVEYOR_DASHBOARD_CSRF', refused)
    }
    try {
      return await found.route.handler(ctx, { params: found.params, url: new URL(request.url), request })
    } catch (error) {
      return errorResponse(error)
    }
  }
}
