import { createServer, type Server } from 'node:http'

/** What the health endpoints report. */
export interface HealthState {
  /** The supervisor runs and is not shutting down. */
  live(): boolean
  /** Every worker process is up and consuming. */
  ready(): boolean
  /** Details shown in the response body. */
  describe(): unknown
}

/**
 * `/healthz` (liveness: 200 while the supervisor runs, 503 once it is stopping) and `/readyz` (readiness: 200 when
 * every worker process is consuming). JSON bodies. Resolves once listening.
 */
export async function startHealthServer(port: number, state: HealthState, host = '0.0.0.0'): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]
    const ok = path === '/healthz' ? state.live() : path === '/readyz' ? state.ready() : undefined
    if (ok === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}')
      return
    }
    res
      .writeHead(ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      .end(JSON.stringify({ status: ok ? 'ok' : 'unavailable', ...(state.describe() as object) }))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return server
}
