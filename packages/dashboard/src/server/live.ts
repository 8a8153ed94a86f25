import type { LiveChange, Monitor } from './monitor'

const KEEPALIVE_MS = 15_000

/**
 * A server-sent-events response that forwards the monitor's coalesced change notices, with a comment line every
 * 15 s so proxies keep the connection open. Closing the page (or the request's signal) unsubscribes.
 */
export function liveResponse(monitor: Monitor, signal: AbortSignal): Response {
  const encoder = new TextEncoder()
  let cleanup = () => {}
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (text: string) => {
        try {
          controller.enqueue(encoder.encode(text))
        } catch {
          cleanup()
        }
      }
      const off = monitor.onChange((change: LiveChange) => send(`event: change\ndata: ${JSON.stringify(change)}\n\n`))
      const keepalive = setInterval(() => send(': keepalive\n\n'), KEEPALIVE_MS)
      keepalive.unref()
      cleanup = () => {
        off()
        clearInterval(keepalive)
      }
      signal.addEventListener('abort', () => {
        cleanup()
        try {
          controller.close()
        } catch {
          // Already closed by the reader.
        }
      })
      send('retry: 2000\nevent: hello\ndata: {}\n\n')
    },
    cancel() {
      cleanup()
    },
  })
  return new Response(stream, {
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // nginx buffers responses by default, which would hold the events back.
      'x-accel-buffering': 'no',
    },
  })
}
