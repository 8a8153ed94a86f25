import type { IncomingMessage, ServerResponse } from 'node:http'
import { createScheduler, type TaskHistory } from '@conveyor/core'
import { createMemoryCoordination, createMemoryTaskHistory } from '@conveyor/core/adapter'
import { inProcessEvents } from './feed/in-process'
import { streamEvents } from './feed/stream'
import type { DashboardOptions } from './options'
import { assetResponse, clientAssets } from './server/assets'
import { type ConnectionInfo, checkAuth } from './server/auth'
import type { ApiContext } from './server/context'
import { Csrf } from './server/csrf'
import { indexHtml, PAGE_HEADERS } from './server/html'
import { errorJson, errorResponse } from './server/http'
import { KeyedLock } from './server/keyed-lock'
import { liveResponse } from './server/live'
import { Monitor } from './server/monitor'
import { nodeHandler } from './server/node-adapter'
import { matchRoute } from './server/routes'

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
  const { app } = options
  const basePath = normaliseBase(options.basePath)
  const csrf = new Csrf(options.secret)
  const readOnly = options.readOnly === true
  const events =
    options.events ??
    (app.events.stream
      ? streamEvents(app, {
          onError: (error) => app.logger.warn({ err: error }, 'dashboard: cannot read the event stream'),
        })
      : inProcessEvents(app))
  const shared = options.history ?? app.history
  // Without a shared history, fold what this process reads into a bounded one of its own.
  const own = shared === undefined ? createMemoryTaskHistory({ retention: { maxRuns: 10_000 } }) : undefined
  const history: TaskHistory = shared ?? own!
  const monitor = new Monitor({
    app,
    events,
    ...(own ? { onEvent: (event) => void own.record([event]) } : {}),
    extraQueues: options.queues ?? [],
    sampleIntervalMs: options.sampleIntervalMs ?? 5000,
    liveIntervalMs: options.liveIntervalMs ?? 500,
  })
  const schedules = options.schedules ?? []
  const scheduler =
    schedules.length > 0
      ? createScheduler(app, { coordination: options.coordination ?? createMemoryCoordination(), schedules })
      : undefined
  const ctx: ApiContext = {
    app,
    coordination: options.coordination,
    history,
    historyLocal: own !== undefined,
    eventsLocal: events.local,
    monitor,
    deadLetterLock: new KeyedLock(),
    scheduler,
    readOnly,
    title: options.title ?? 'Conveyor',
  }
  monitor.start()

  const api = async (request: Request, path: string): Promise<Response> => {
    if (path === 'live') return liveResponse(monitor, request.signal)
    const found = matchRoute(request.method, path)
    if ('status' in found) {
      return errorJson(
        found.status,
        'CONVEYOR_DASHBOARD_NOT_FOUND',
        found.status === 404 ? 'no such API route' : 'method not allowed',
      )
    }
    if (found.route.action) {
      if (readOnly) return errorJson(403, 'CONVEYOR_DASHBOARD_READ_ONLY', 'the dashboard is read-only')
      const refused = csrf.check(request)
      if (refused !== undefined) return errorJson(403, 'CONVEYOR_DASHBOARD_CSRF', refused)
    }
    try {
      return await found.route.handler(ctx, { params: found.params, url: new URL(request.url), request })
    } catch (error) {
      return errorResponse(error)
    }
  }

  const fetch = async (request: Request, connection: ConnectionInfo = {}): Promise<Response> => {
    const url = new URL(request.url)
    const path = url.pathname
    if (`${path}/` === basePath) return Response.redirect(new URL(basePath + url.search, url), 308)
    if (!path.startsWith(basePath))
      return errorJson(404, 'CONVEYOR_DASHBOARD_NOT_FOUND', 'not under the dashboard path')
    const refused = await checkAuth(options.auth, request, connection)
    if (refused) return refused
    const rest = path.slice(basePath.length)
    if (rest.startsWith('api/')) return api(request, rest.slice('api/'.length))
    if (rest === 'assets/app.js' || rest === 'assets/app.css') {
      return assetResponse(clientAssets()[rest.slice('assets/'.length) as 'app.js' | 'app.css'], request)
    }
    if (rest === '' || rest === 'index.html') {
      if (request.method !== 'GET' && request.method !== 'HEAD')
        return errorJson(405, 'CONVEYOR_DASHBOARD_NOT_FOUND', 'method not allowed')
      const html = indexHtml({
        basePath,
        title: ctx.title,
        csrf: csrf.token,
        readOnly,
        version: clientAssets().version,
      })
      return new Response(html, { headers: PAGE_HEADERS })
    }
    return errorJson(404, 'CONVEYOR_DASHBOARD_NOT_FOUND', 'no such page')
  }

  return {
    fetch,
    node: nodeHandler(fetch),
    basePath,
    authenticated: options.auth !== undefined,
    close: () => monitor.stop(),
  }
}
