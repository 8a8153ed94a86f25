import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Received {
  readonly text: string
  readonly rule: string
  readonly status: 'firing' | 'resolved'
  readonly [key: string]: unknown
}

/** A local webhook endpoint that records what it is sent; `failFirst` answers 500 to that many requests first. */
export async function webhookReceiver(options: { failFirst?: number } = {}) {
  const received: Received[] = []
  let requests = 0
  const server: Server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString()
    })
    req.on('end', () => {
      requests++
      if (requests <= (options.failFirst ?? 0)) {
        res.writeHead(500).end('down')
        return
      }
      received.push(JSON.parse(body) as Received)
      res.writeHead(200).end('ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    get requests() {
      return requests
    },
    count: (rule: string, status: 'firing' | 'resolved') =>
      received.filter((r) => r.rule === rule && r.status === status).length,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
