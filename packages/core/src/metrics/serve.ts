import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { PROMETHEUS_CONTENT_TYPE } from './prometheus'

export interface ServeMetricsOptions {
  /** Port to listen on; 0 picks a free one (read it back from `port`). */
  readonly port: number
  /** Defaults to `0.0.0.0`: scrapers come from outside the host. */
  readonly host?: string
  /** Defaults to `/metrics`. */
  readonly path?: string
}

export interface MetricsServer {
  /** The port it listens on. */
  readonly port: number
  close(): Promise<void>
}

/**
 * Answer a `/metrics` request with `source.render()`; false when the request is for another path. For servers that
 * already exist (the CLI's health endpoints): mount it next to your own routes.
 */
export function handleMetricsRequest(
  source: { render(): Promise<string> },
  req: IncomingMessage,
  res: ServerResponse,
  path = '/metrics',
): boolean {
  if ((req.url ?? '/').split('?')[0] !== path) return false
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n')
    return true
  }
  source.render().then(
    (text) => {
      res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' })
      res.end(req.method === 'HEAD' ? undefined : text)
    },
    (error: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(error as Error)?.message}\n`)
    },
  )
  return true
}

/** Serve `source.render()` (an `AppMetrics`, say) at `GET /metrics` for Prometheus to scrape. */
export async function serveMetrics(
  source: { render(): Promise<string> },
  options: ServeMetricsOptions,
): Promise<MetricsServer> {
  const path = options.path ?? '/metrics'
  const server = createServer((req, res) => {
    if (!handleMetricsRequest(source, req, res, path)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found; metrics are at ${path}\n`)
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host ?? '0.0.0.0', () => {
      server.off('error', reject)
      resolve()
    })
  })
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
