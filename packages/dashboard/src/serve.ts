import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createDashboard, type Dashboard } from './dashboard'
import { DashboardAuthRequiredError } from './errors/dashboard-auth-required-error'
import type { DashboardOptions } from './options'
import { clientAssets } from './server/assets'
import { isLoopback } from './server/auth'

export interface ServeOptions extends DashboardOptions {
  /** Defaults to 8080; 0 picks a free port. */
  readonly port?: number
  /** Defaults to 127.0.0.1. Any other address needs `auth`. */
  readonly host?: string
}

/** A running standalone dashboard. */
export interface ServedDashboard {
  readonly dashboard: Dashboard
  readonly server: Server
  /** Where it listens, e.g. `http://127.0.0.1:8080/`. */
  readonly url: string
  /** Stop listening, end open live streams, stop the dashboard. */
  close(): Promise<void>
}

/**
 * Serve the dashboard on its own HTTP server (what `conveyor dashboard` runs). Refuses, with
 * `DashboardAuthRequiredError`, to listen on a non-loopback address without `auth`.
 */
export async function serveDashboard(options: ServeOptions): Promise<ServedDashboard> {
  const host = options.host ?? '127.0.0.1'
  if (options.auth === undefined && !isLoopback(host)) {
    throw new DashboardAuthRequiredError(
      `refusing to listen on ${host} without auth: configure basic auth, a bearer token or authorize(), or listen on 127.0.0.1`,
    )
  }
  const dashboard = createDashboard(options)
  const server = createServer(dashboard.node)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 8080, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const url = `http://${shown}:${address.port}${dashboard.basePath}`
  warmUp()
  return {
    dashboard,
    server,
    url,
    async close() {
      await dashboard.close()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/**
 * Do the one-time work of a first request before saying we listen: read and gzip the client (tens of milliseconds
 * on a loaded machine), so the first person to open the page does not wait for it. Not a request through the
 * handler: that went through auth, so it asked the host's `authorize()` about a made-up request (and waited on it
 * with no limit), and basic or bearer auth refused it before it warmed anything. A missing client is reported by
 * the requests that need it, as before.
 */
function warmUp(): void {
  try {
    clientAssets()
  } catch {
    // DashboardAssetsMissingError: the page request says so.
  }
}
