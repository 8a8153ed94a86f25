import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import type { ConnectionInfo } from './auth'

type FetchHandler = (request: Request, connection?: ConnectionInfo) => Promise<Response>

/** The URL the request was made for. Express strips its mount path from `req.url` and keeps the full one in `originalUrl`. */
function requestUrl(req: IncomingMessage): URL {
  const path = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/'
  const host = req.headers.host ?? 'localhost'
  const tls = (req.socket as { encrypted?: boolean }).encrypted === true
  return new URL(path, `${tls ? 'https' : 'http'}://${host}`)
}

/** Build a Web `Request` from Node's, with an abort signal that fires when the client goes away. */
export function toRequest(req: IncomingMessage, res: ServerResponse): Request {
  const controller = new AbortController()
  res.on('close', () => controller.abort())
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one)
  }
  const method = req.method ?? 'GET'
  const hasBody = method !== 'GET' && method !== 'HEAD'
  // A body parser mounted before the dashboard (express.json()) has read the stream already: use what it parsed.
  const parsed = (req as IncomingMessage & { body?: unknown }).body
  const body =
    parsed !== undefined && typeof parsed === 'object' && req.readableEnded
      ? JSON.stringify(parsed)
      : (Readable.toWeb(req) as ReadableStream<Uint8Array>)
  return new Request(requestUrl(req), {
    method,
    headers,
    signal: controller.signal,
    ...(hasBody ? { body, duplex: 'half' } : {}),
  } as RequestInit)
}

/** Write a Web `Response` to Node's, streaming the body (server-sent events stay open). */
export async function writeResponse(response: Response, res: ServerResponse): Promise<void> {
  const headers: Record<string, string | string[]> = {}
  response.headers.forEach((value, name) => {
    headers[name] = value
  })
  const cookies = response.headers.getSetCookie()
  if (cookies.length > 0) headers['set-cookie'] = cookies
  res.writeHead(response.status, headers)
  if (response.body === null) {
    res.end()
    return
  }
  res.flushHeaders()
  const reader = response.body.getReader()
  res.on('close', () => void reader.cancel().catch(() => undefined))
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (!res.write(value)) await new Promise<void>((resolve) => res.once('drain', resolve))
    }
  } catch {
    // The client went away mid-stream.
  }
  res.end()
}

/**
 * A Node `(req, res, next?)` handler around a fetch handler: mount it in `http.createServer`, Express (`app.use`),
 * Fastify (`reply.hijack()` then `handler(req.raw, reply.raw)`) or Connect.
 */
export function nodeHandler(fetch: FetchHandler) {
  return (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void => {
    const connection: ConnectionInfo = req.socket.remoteAddress ? { remoteAddress: req.socket.remoteAddress } : {}
    let request: Request
    try {
      request = toRequest(req, res)
    } catch {
      // What Node's parser lets through but a Web Request refuses (a Host that is no URL, a TRACE): a bad request,
      // answered here — thrown from this listener it would end the whole process, before any auth.
      res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' })
      res.end('bad request')
      return
    }
    fetch(request, connection)
      .then((response) => writeResponse(response, res))
      .catch((error: unknown) => {
        if (next) return next(error)
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
        res.end('internal error')
      })
  }
}
