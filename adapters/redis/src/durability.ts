import { InvalidOptionsError } from '@conveyor/core'
import { Cluster } from 'ioredis'
import { ReplicationTimeoutError } from './errors/replication-timeout-error'
import type { RedisClient, RedisDurability } from './options'
import { rethrowTyped, type ScriptName, scripts } from './scripts'

/** Scripts whose writes a caller is told are done: confirmed by replicas when durability is on. */
export const CONFIRMED_SCRIPTS: ReadonlySet<ScriptName> = new Set([
  'publish-batch',
  'ack',
  'retry',
  'dead-letter',
  'replay',
])

const DEFAULT_TIMEOUT_MS = 1000

/** Checked durability settings; throws InvalidOptionsError for values WAIT cannot honour. */
export function checkDurability(durability: RedisDurability | undefined): Required<RedisDurability> | undefined {
  if (durability === undefined) return undefined
  const { replicas, timeoutMs = DEFAULT_TIMEOUT_MS } = durability
  if (!(Number.isInteger(replicas) && replicas >= 1)) {
    throw new InvalidOptionsError(`[redis] durability.replicas must be an integer ≥ 1, got ${replicas}`)
  }
  // WAIT 0 means "forever": a lost replica would hang every publish.
  if (!(Number.isInteger(timeoutMs) && timeoutMs >= 1)) {
    throw new InvalidOptionsError(`[redis] durability.timeoutMs must be an integer ≥ 1, got ${timeoutMs}`)
  }
  return { replicas, timeoutMs }
}

type Reply = [Error | null, unknown][] | null

const isNoScript = (error: unknown) => error instanceof Error && error.message.startsWith('NOSCRIPT')
const isRedirect = (error: unknown) => error instanceof Error && /^(MOVED|ASK) /.test(error.message)
/** Slot-map refreshes one confirmed write tries after a redirection before it reports the error. */
const MAX_REDIRECTS = 3

/** The script then `WAIT` in one pipeline: same connection, and on a cluster the node owning the script's keys. */
async function send(
  client: RedisClient,
  command: 'evalsha' | 'eval',
  head: string,
  keys: readonly string[],
  args: readonly (string | number)[],
  durability: Required<RedisDurability>,
): Promise<Reply> {
  const pipeline = client.pipeline()
  pipeline[command](head, keys.length, ...keys, ...args)
  pipeline.call('WAIT', durability.replicas, durability.timeoutMs)
  return pipeline.exec()
}

/**
 * Run a script and wait until `durability.replicas` replicas acknowledged it (WAIT counts every write this connection
 * made before it, so concurrent callers sharing the connection are covered too). Rejects with
 * ReplicationTimeoutError when fewer did within the timeout.
 */
export async function runConfirmed(
  client: RedisClient,
  name: ScriptName,
  keys: readonly string[],
  args: readonly (string | number)[],
  durability: Required<RedisDurability>,
): Promise<unknown> {
  const script = scripts().get(name)!
  try {
    let reply = await send(client, 'evalsha', script.sha, keys, args, durability)
    // ioredis follows a redirection for a pipeline only when every command got it; WAIT (keyless) does not, so after
    // a failover the script's MOVED comes back to us and the slot map stays stale: refresh it and send again.
    for (
      let attempt = 1;
      attempt <= MAX_REDIRECTS && isRedirect(reply?.[0]?.[0]) && client instanceof Cluster;
      attempt++
    ) {
      await new Promise<void>((resolve) => client.refreshSlotsCache(() => resolve()))
      reply = await send(client, 'evalsha', script.sha, keys, args, durability)
    }
    if (isNoScript(reply?.[0]?.[0])) reply = await send(client, 'eval', script.source, keys, args, durability)
    const [written, waited] = reply ?? []
    if (written === undefined || waited === undefined) throw new Error('Connection is closed.')
    if (written[0]) throw written[0]
    if (waited[0]) throw waited[0]
    const confirmed = Number(waited[1])
    if (confirmed < durability.replicas) {
      throw new ReplicationTimeoutError(
        `[conveyor] [redis] ${name}: ${confirmed} of ${durability.replicas} replicas confirmed the write within ${durability.timeoutMs} ms; it is on the master but may be lost if the master fails before a replica copies it`,
      )
    }
    return written[1]
  } catch (error) {
    if (error instanceof ReplicationTimeoutError) throw error
    return rethrowTyped(error)
  }
}
