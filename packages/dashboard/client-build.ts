import { randomUUID } from 'node:crypto'
import { mkdirSync, renameSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

/** Where the bundled client lands; the server reads it from there (`dist/client` beside `dist/index.js`). */
export const CLIENT_OUT_DIR = here('./dist/client')

/**
 * Bundle the browser client (Preact, uPlot, our pages and CSS) into `outdir/app.js` and `outdir/app.css`: minified,
 * no external URLs, so the page works offline and behind strict proxies.
 */
export async function buildClient(outdir = CLIENT_OUT_DIR): Promise<void> {
  // Built beside the target and renamed into place, so a server reading the files never sees half of one (test
  // files build the client in parallel).
  const staging = `${outdir}.${randomUUID().slice(0, 8)}.tmp`
  await build({
    entryPoints: { app: here('./client/main.tsx') },
    outdir: staging,
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome110', 'firefox115', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    sourcemap: false,
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
  })
  mkdirSync(outdir, { recursive: true })
  for (const file of ['app.js', 'app.css']) renameSync(join(staging, file), join(outdir, file))
  rmSync(staging, { recursive: true, force: true })
}
