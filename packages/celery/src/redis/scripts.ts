import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Redis } from 'ioredis'

// `src/` under vitest/tsx and `dist/` after the build both sit one level below the package root, beside `lua/`.
const luaDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'lua')
const distLuaDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'lua')

const SCRIPTS = { celeryFetch: 'fetch', celerySettle: 'settle', celeryResultSet: 'result-set' } as const
type ScriptCommand = keyof typeof SCRIPTS

function source(file: string): string {
  try {
    return readFileSync(join(luaDir, `${file}.lua`), 'utf8')
  } catch {
    return readFileSync(join(distLuaDir, `${file}.lua`), 'utf8')
  }
}

let sources: Map<ScriptCommand, string> | undefined

/**
 * Register the package's Lua scripts on a client with ioredis's `defineCommand`, which sends EVALSHA and falls back
 * to EVAL on NOSCRIPT (first use, server restart).
 */
export function defineScripts(client: Redis): void {
  sources ??= new Map(Object.entries(SCRIPTS).map(([command, file]) => [command as ScriptCommand, source(file)]))
  for (const [command, lua] of sources) client.defineCommand(command, { lua })
}

type ScriptFn = (numberOfKeys: number, ...keysAndArgs: (string | number)[]) => Promise<unknown>

/** Run a script defined by `defineScripts`. */
export function runScript(
  client: Redis,
  command: ScriptCommand,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  const fn = (client as unknown as Record<ScriptCommand, ScriptFn>)[command]
  return fn.call(client, keys.length, ...keys, ...args)
}
