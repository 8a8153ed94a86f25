import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { RedisClient } from './options'

/** Every Lua script of the adapter, by file name in `lua/`. */
export const SCRIPT_NAMES = [
  'publish-batch',
  'fetch',
  'extend',
  'ack',
  'release',
  'retry',
  'dead-letter',
  'replay',
  'dead-purge',
  'purge',
  'stats',
  'result-set',
] as const
export type ScriptName = (typeof SCRIPT_NAMES)[number]

interface Script {
  readonly source: string
  readonly sha: string
}

// `src/` under vitest/tsx and `dist/` after the build both sit one level below the package root, beside `lua/`.
const luaDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'lua')

let loaded: ReadonlyMap<ScriptName, Script> | undefined

/** Read the scripts from disk once per process. */
function scripts(): ReadonlyMap<ScriptName, Script> {
  if (loaded === undefined) {
    const map = new Map<ScriptName, Script>()
    for (const name of SCRIPT_NAMES) {
      const source = readFileSync(join(luaDir, `${name}.lua`), 'utf8')
      map.set(name, { source, sha: createHash('sha1').update(source).digest('hex') })
    }
    loaded = map
  }
  return loaded
}

/** Scripts being sent with EVAL right now, per client: concurrent callers wait for that one instead of all sending it. */
const loading = new WeakMap<RedisClient, Map<ScriptName, Promise<unknown>>>()

const isNoScript = (error: unknown) => error instanceof Error && error.message.startsWith('NOSCRIPT')

/**
 * Runs the adapter's scripts by EVALSHA. A server that does not know a script yet (first use, restart, a new cluster
 * node) answers NOSCRIPT; the script is then sent once with EVAL, which also caches it there, and calls that failed
 * meanwhile retry by EVALSHA once it landed (10,000 concurrent publishes on a fresh server send the source once).
 */
export async function runScript(
  client: RedisClient,
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  const script = scripts().get(name)!
  try {
    return await client.evalsha(script.sha, keys.length, ...keys, ...args)
  } catch (error) {
    if (!isNoScript(error)) throw error
  }
  let perClient = loading.get(client)
  if (perClient === undefined) {
    perClient = new Map()
    loading.set(client, perClient)
  }
  const pending = perClient.get(name)
  if (pending === undefined) {
    const sent = client.eval(script.source, keys.length, ...keys, ...args)
    const settled = sent.then(
      () => undefined,
      () => undefined,
    )
    perClient.set(name, settled)
    void settled.then(() => perClient.delete(name))
    return sent
  }
  await pending
  try {
    return await client.evalsha(script.sha, keys.length, ...keys, ...args)
  } catch (error) {
    // Another cluster node than the one that just loaded it.
    if (isNoScript(error)) return client.eval(script.source, keys.length, ...keys, ...args)
    throw error
  }
}
