import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { RedisClient } from './options'

/** The coordination store's Lua scripts, `lua/coord-<name>.lua`. */
const NAMES = [
  'heartbeat-put',
  'heartbeat-list',
  'rate',
  'lease-acquire',
  'lease-renew',
  'lease-release',
  'claim-tick',
  'idempotency-claim',
  'idempotency-release',
] as const
export type CoordScript = (typeof NAMES)[number]

// `src/` under vitest/tsx and `dist/` after the build both sit one level below the package root, beside `lua/`.
const luaDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'lua')
let loaded: ReadonlyMap<CoordScript, { source: string; sha: string }> | undefined

function scripts() {
  if (loaded === undefined) {
    const map = new Map<CoordScript, { source: string; sha: string }>()
    for (const name of NAMES) {
      const source = readFileSync(join(luaDir, `coord-${name}.lua`), 'utf8')
      map.set(name, { source, sha: createHash('sha1').update(source).digest('hex') })
    }
    loaded = map
  }
  return loaded
}

/** EVALSHA, falling back to EVAL once when the server does not know the script yet (NOSCRIPT). */
export function runCoordScript(
  client: RedisClient,
  name: CoordScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  const script = scripts().get(name)!
  return client.evalsha(script.sha, keys.length, ...keys, ...args).catch((error: unknown) => {
    if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
      return client.eval(script.source, keys.length, ...keys, ...args)
    }
    throw error
  })
}
