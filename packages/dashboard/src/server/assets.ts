import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { DashboardAssetsMissingError } from '../errors/dashboard-assets-missing-error'

/** One bundled file, held in memory with its gzipped copy. */
export interface Asset {
  readonly body: Uint8Array<ArrayBuffer>
  readonly gzip: Uint8Array<ArrayBuffer>
  readonly type: string
  readonly etag: string
}

export interface ClientAssets {
  readonly 'app.js': Asset
  readonly 'app.css': Asset
  /** Short content hash of both, for cache-busting URLs. */
  readonly version: string
}

// dist/index.js and dist/index.cjs sit beside dist/client; from the sources (src/server/assets.ts) it is ../../dist.
const CANDIDATES = ['./client/', '../../dist/client/']

function clientDir(): string {
  for (const candidate of CANDIDATES) {
    const dir = fileURLToPath(new URL(candidate, import.meta.url))
    if (existsSync(`${dir}app.js`)) return dir
  }
  throw new DashboardAssetsMissingError(
    'the bundled client (dist/client/app.js) is missing: build the package (npm run build -w @conveyor/dashboard)',
  )
}

function asset(path: string, type: string): Asset {
  const body = new Uint8Array(readFileSync(path))
  return {
    body,
    gzip: new Uint8Array(gzipSync(body, { level: 9 })),
    type,
    etag: `"${createHash('sha1').update(body).digest('hex').slice(0, 16)}"`,
  }
}

let loaded: ClientAssets | undefined

/** The client files, read once per process. */
export function clientAssets(): ClientAssets {
  if (loaded === undefined) {
    const dir = clientDir()
    const js = asset(`${dir}app.js`, 'text/javascript; charset=utf-8')
    const css = asset(`${dir}app.css`, 'text/css; charset=utf-8')
    loaded = { 'app.js': js, 'app.css': css, version: (js.etag + css.etag).replace(/\W/g, '').slice(0, 12) }
  }
  return loaded
}

/** Serve an asset, gzipped when the client takes it, 304 when it already has it. */
export function assetResponse(file: Asset, request: Request): Response {
  const headers: Record<string, string> = {
    'content-type': file.type,
    etag: file.etag,
    'cache-control': 'public, max-age=31536000, immutable',
    vary: 'accept-encoding',
  }
  if (request.headers.get('if-none-match') === file.etag) return new Response(null, { status: 304, headers })
  if (/\bgzip\b/.test(request.headers.get('accept-encoding') ?? '')) {
    return new Response(file.gzip, { headers: { ...headers, 'content-encoding': 'gzip' } })
  }
  return new Response(file.body, { headers })
}
