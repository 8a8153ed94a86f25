import { InvalidOptionsError, NotConnectedError } from '@conveyor/core'
import type { CoordinationStore } from '@conveyor/core/adapter'
import { closeClient, ensureConnected, openClient, splitUrl } from './connection'
import {
  type CoordinationContext,
  heartbeatsAndRevokes,
  ratesAndLeases,
  schedulesAndIdempotency,
} from './coordination-parts'
import { runCoordScript } from './coordination-scripts'
import { coordinationKeys } from './keys'
import type { RedisConnectionOptions } from './options'

export interface RedisCoordinationOptions extends RedisConnectionOptions {}

/**
 * Coordination across every process using the same Redis and prefix (`scope: 'shared'`): rate limits hold across
 * all workers, each schedule tick is claimed once in the fleet, heartbeats and revokes are visible everywhere, and an
 * idempotency key publishes once whichever producer enqueues it.
 *
 * All keys share the hash tag `{prefix:coord}` (one cluster slot; the table is at `coordinationKeys`), and every
 * check-and-set is one Lua script using the server's clock (`TIME`), so processes with skewed clocks agree on windows
 * and TTLs. The methods live in coordination-parts.ts, by concept.
 */
export function createRedisCoordination(options: RedisCoordinationOptions = {}): CoordinationStore {
  const prefix = options.prefix ?? (options.url ? splitUrl(options.url).prefix : undefined) ?? 'conveyor'
  if (prefix === '' || /[{}]/.test(prefix)) {
    throw new InvalidOptionsError(`[redis] coordination prefix must be non-empty without braces, got "${prefix}"`)
  }
  const { client, owned } = openClient(options, 'conveyor:coordination')
  // Connection trouble surfaces as rejected calls (NotConnectedError); without a listener ioredis would also print it.
  if (owned) client.on('error', () => undefined)
  let closed = false

  const ready = async () => {
    if (closed) throw new NotConnectedError('[redis] coordination store is closed')
    try {
      await ensureConnected(client)
    } catch (error) {
      throw new NotConnectedError(`[redis] cannot reach Redis for coordination: ${(error as Error).message}`, {
        cause: error,
      })
    }
  }
  const context: CoordinationContext = {
    client,
    keys: coordinationKeys(prefix),
    ready,
    script: async (name, keys, args) => {
      await ready()
      return runCoordScript(client, name, keys, args)
    },
  }

  return {
    name: 'redis',
    scope: 'shared',
    connect: ready,
    async close() {
      closed = true
      if (owned) await closeClient(client)
    },
    // putHeartbeat, removeHeartbeat, listHeartbeats, revoke, isRevoked
    ...heartbeatsAndRevokes(context),
    // acquireRate, acquireLease, renewLease, releaseLease
    ...ratesAndLeases(context),
    // claimTick, lastTick, claimIdempotencyKey, releaseIdempotencyKey
    ...schedulesAndIdempotency(context),
  }
}
