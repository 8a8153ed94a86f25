import { NotConnectedError } from '@conveyor/core'
import { Command } from 'ioredis'
import { type LuaScript, luaScripts } from './lua-loader'
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
  'history-record',
  'history-list',
  'wf-admit',
  'wf-count',
] as const
export type ScriptName = (typeof SCRIPT_NAMES)[number]

/** The queue scripts, read from disk once per process. */
export const scripts: () => ReadonlyMap<ScriptName, LuaScript> = luaScripts(SCRIPT_NAMES)

/**
 * The client's ioredis `keyPrefix` ('' for none). ioredis prefixes KEYS, never ARGV: a script that builds key names
 * from an argument must be given them with this in front, or it writes outside the prefix.
 */
export function keyPrefixOf(client: RedisClient): string {
  return (client.options as { keyPrefix?: string }).keyPrefix ?? ''
}

/** Scripts being sent with EVAL right now, per client: concurrent callers wait for that one instead of all sending it. */
const loading = new WeakMap<RedisClient, Map<ScriptName, Promise<unknown>>>()

const isNoScript = (error: unknown) => error instanceof Error && error.message.startsWith('NOSCRIPT')

/**
 * How a script call is written. `pipelined` (the default) goes through ioredis's auto-pipelining, so calls made in
 * the same tick share one socket write. `direct` writes at once: for calls that are already one per cycle or
 * already batched (a consumer's fetch, a queue's publish batch), where auto-pipelining only adds its per-tick
 * pipeline object and deferral (about a sixth of the client CPU of a fetch cycle at prefetch 1). The order of
 * commands on the connection is unaffected either way; a direct call may only overtake pipelined calls of the
 * same tick, none of which it depends on.
 */
export type SendMode = 'pipelined' | 'direct'

function send(
  client: RedisClient,
  mode: SendMode,
  command: 'evalsha' | 'eval',
  head: string,
  keys: readonly string[],
  args: readonly (string | number)[],
): Promise<unknown> {
  if (mode === 'pipelined') {
    return command === 'evalsha'
      ? client.evalsha(head, keys.length, ...keys, ...args)
      : client.eval(head, keys.length, ...keys, ...args)
  }
  // What ioredis's generated command method does when it does not auto-pipeline (keyPrefix honoured likewise).
  const direct = new Command(command, [head, keys.length, ...keys, ...args], {
    replyEncoding: 'utf8',
    keyPrefix: keyPrefixOf(client) || undefined,
  })
  client.sendCommand(direct)
  return direct.promise as Promise<unknown>
}

/**
 * Runs the adapter's scripts by EVALSHA. A server that does not know a script yet (first use, restart, a new cluster
 * node) answers NOSCRIPT; the script is then sent once with EVAL, which also caches it there, and calls that failed
 * meanwhile retry by EVALSHA once it landed (10,000 concurrent publishes on a fresh server send the source once).
 */
export function runScript(
  client: RedisClient,
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number)[],
  mode: SendMode = 'pipelined',
): Promise<unknown> {
  // The common case without an async frame of its own (one per script call, every fetch and publish batch).
  let script: LuaScript
  let sent: Promise<unknown>
  try {
    script = scripts().get(name)!
    sent = send(client, mode, 'evalsha', script.sha, keys, args)
  } catch (error) {
    // Failures surface as a rejection, as from an async function, never as a synchronous throw.
    return Promise.reject(error).catch(rethrowTyped)
  }
  return sent.catch((error: unknown) =>
    isNoScript(error) ? loadAndRun(client, name, script, keys, args, mode).catch(rethrowTyped) : rethrowTyped(error),
  )
}

/**
 * ioredis's own connection errors (`MaxRetriesPerRequestError` while Redis is down, "Connection is closed") become
 * Conveyor's `NotConnectedError`, which callers can match on by `code`; Redis's replies pass through unchanged.
 */
export function rethrowTyped(error: unknown): never {
  const { name, message } = (error ?? {}) as { name?: unknown; message?: unknown }
  const text = typeof message === 'string' ? message : ''
  if (name === 'MaxRetriesPerRequestError' || /Connection is closed|isn't writeable/.test(text)) {
    throw new NotConnectedError(`[conveyor] [redis] Redis did not answer (${text}); is it up and reachable?`, {
      cause: error,
    })
  }
  throw error
}

/** The server answered NOSCRIPT: send the source once per client and script, then run by EVALSHA again. */
async function loadAndRun(
  client: RedisClient,
  name: ScriptName,
  script: LuaScript,
  keys: readonly string[],
  args: readonly (string | number)[],
  mode: SendMode,
): Promise<unknown> {
  let perClient = loading.get(client)
  if (perClient === undefined) {
    perClient = new Map()
    loading.set(client, perClient)
  }
  const pending = perClient.get(name)
  if (pending === undefined) {
    const sent = send(client, mode, 'eval', script.source, keys, args)
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
    return await send(client, mode, 'evalsha', script.sha, keys, args)
  } catch (error) {
    // Another cluster node than the one that just loaded it.
    if (isNoScript(error)) return send(client, mode, 'eval', script.source, keys, args)
    throw error
  }
}
