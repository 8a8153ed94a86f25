import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** A Lua script as sent to Redis: its source for EVAL and its SHA-1 for EVALSHA. */
export interface LuaScript {
  readonly source: string
  readonly sha: string
}

// `src/` under vitest/tsx and `dist/` after the build both sit one level below the package root, beside `lua/`.
const luaDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'lua')

/**
 * The one loader of the adapter's Lua scripts: a set of them, read from `lua/<file(name)>.lua` on first use and kept
 * for the life of the process. The queue scripts (scripts.ts) and the coordination scripts both come through here.
 */
export function luaScripts<Name extends string>(
  names: readonly Name[],
  file: (name: Name) => string = (name) => name,
): () => ReadonlyMap<Name, LuaScript> {
  let loaded: ReadonlyMap<Name, LuaScript> | undefined
  return () => {
    if (loaded === undefined) {
      const map = new Map<Name, LuaScript>()
      for (const name of names) {
        const source = readFileSync(join(luaDir, `${file(name)}.lua`), 'utf8')
        map.set(name, { source, sha: createHash('sha1').update(source).digest('hex') })
      }
      loaded = map
    }
    return loaded
  }
}
