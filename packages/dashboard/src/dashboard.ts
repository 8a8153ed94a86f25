import type { IncomingMessage, ServerResponse } from 'node:http'
import type { DashboardOptions } from './options'
import { apiHandler } from './server/api'
import { assetResponse, clientAssets } from './server/assets'
import { type ConnectionInfo, checkAuth } from './server/auth'
import { buildContext } from './server/context-build'
import { Csrf } from './server/csrf'
import { indexHtml, PAGE_HEADERS } from './server/html'
import { errorJson } from './server/http'
import { nodeHandler } from './server/node-adapter'

/** A dashboard to mount: the same app behind a Web `fetch` handler and a Node `(req, res)` handler. */
export interface Dashboard {
  /**
   * Web-standard handler (Hono, Next route handlers, Bun, Deno). `connection.remoteAddress` tells it the client's
   * address; without it (and without `auth`) every request is refused, since it cannot know the client is local.
   */
  fetch(request: Request, connection?: ConnectionInfo): Promise<Response>
  /** Node handler: `http.createServer(d.node)`, Express `app.use('/conveyor', d.node)`, Fastify (hijacked reply). */
  readonly node: (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => void
  /** The base path, normalised with a trailing slash (`/admin/conveyor/`). */
  readonly basePath: string
  /** Whether `auth` is configured (`serveDashboard` refuses non-loopback addresses without it). */
  readonly authenticated: boolean
  /** Stop sampling and live updates. The app, its broker and the coordination store stay open (they are yours). */
  close(): Promise<void>
}

function normaliseBase(path: string | undefined): string {
  const trimmed = (path ?? '/').trim().replace(/\/+$/, '')
  return `${trimmed.startsWith('/') ? '' : '/'}${trimmed}/`.replace(/\/{2,}/g, '/')
}

/** Build the dashboard for an app. Nothing is served until you mount `fetch` or `node` (or call `serveDashboard`). */
export function createDashboard(options: DashboardOptions): Dashboard {
  const basePath = normaliseBase(options.basePath)
  const csrf = new Csrf(options.secret)
  const ctx = buildContext(options)
  const api = apiHandler(ctx, csrf)
  ctx.monitor.start()

  const page = (request: Request): Response => {
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return errorJson(405, 'CONVEYOR_DASHBOARD_NOT_FOUND', 'method not allowed')
    const { version } = clientAssets()
    const html = indexHtml({ basePath, title: ctx.title, csrf: csrf.token, readOnly: ctx.readOnly, version })
    return new Response(html, { headers: PAGE_HEADERS })
  }

  const fetch = async (request: Request, connection: ConnectionInfo = {}): Promise<Response> => {
    const url = new URL(request.url)
    const path = url.pathname
    if (`${path}/` === basePath) return Response.redirect(new URL(basePath + url.search, url), 308)
    if (!path.startsWith(basePath))
      return errorJson(404, 'CONVEYOR_DASHBOARD_NOT_FOUND', 'not under the dashboard path')
    const refused = await checkAuth(options.auth, request, connection, options.allowedHosts)
    if (refused) return refused
    const rest = path.slice(basePath.length)
    if (rest.startsWith('api/')) return api(request, rest.slice('api/'.length))
    if (rest === 'assets/app.js' || rest === 'assets/app.css') {
      return assetResponse(clientAssets()[rest.slice('assets/'.length) as 'app.js' | 'app.css'], request)
    }
    if (rest === '' || rest === 'index.html') return page(request)
    return errorJson(404, 'CONVEYOR_DASHBOARD_NOT_FOUND', 'no such page')
  }

  return {
    fetch,
    node: nodeHandler(fetch),
    basePath,
    authenticated: options.auth !== undefined,
    close: () => ctx.monitor.stop(),
  }
}
