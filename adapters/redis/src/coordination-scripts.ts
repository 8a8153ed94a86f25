import { luaScripts } from './lua-loader'
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

const scripts = luaScripts(NAMES, (name) => `coord-${name}`)

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
