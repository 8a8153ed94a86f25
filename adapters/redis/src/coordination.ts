import { InvalidOptionsError, NotConnectedError } from '@conveyor/core'
import { type CoordinationStore, type Lease, safeJsonParse, type WorkerHeartbeat } from '@conveyor/core/adapter'
import { closeClient, ensureConnected, openClient, splitUrl } from './connection'
import { runCoordScript } from './coordination-scripts'
import type { RedisConnectionOptions } from './options'

export interface RedisCoordinationOptions extends RedisConnectionOptions {}

/**
 * Coordination across every process using the same Redis and prefix (`scope: 'shared'`): rate limits hold across
 * all workers, each schedule tick is claimed once in the fleet, heartbeats and revokes are visible everywhere, and an
 * idempotency key publishes once whichever producer enqueues it.
 *
 * All keys share the hash tag `{prefix:coord}` (one cluster slot), and every check-and-set is one Lua script using
 * the server's clock (`TIME`), so processes with skewed clocks agree on windows and TTLs.
 *
 * | key                       | type   | holds                                        |
 * | ------------------------- | ------ | -------------------------------------------- |
 * | `…:hb`, `…:hbd`           | zset, hash | worker id → expiry; worker id → heartbeat JSON |
 * | `…:rv:<id>`               | string | a revoked task id, with a TTL                |
 * | `…:rl:<key>`              | zset   | tokens taken in the sliding window           |
 * | `…:seq`                   | string | unique members for the windows               |
 * | `…:ls:<name>`, `…:lf:<name>` | hash, string | lease owner and token; fencing counter |
 * | `…:tk:<schedule>:<tick>`  | string | a claimed tick, with a TTL                   |
 * | `…:last`                  | hash   | schedule → last claimed tick                 |
 * | `…:ik:<key>`              | string | an idempotency key → its job, with a TTL     |
 */
export function createRedisCoordination(options: RedisCoordinationOptions = {}): CoordinationStore {
  const prefix = options.prefix ?? (options.url ? splitUrl(options.url).prefix : undefined) ?? 'conveyor'
  if (prefix === '' || /[{}]/.test(prefix)) {
    throw new InvalidOptionsError(`[redis] coordination prefix must be non-empty without braces, got "${prefix}"`)
  }
  const { client, owned } = openClient(options, 'conveyor:coordination')
  // Connection trouble surfaces as rejected calls (NotConnectedError); without a listener ioredis would also print it.
  if (owned) client.on('error', () => undefined)
  const tag = `{${prefix}:coord}`
  const keys = {
    beats: `${tag}:hb`,
    beatData: `${tag}:hbd`,
    revoked: (id: string) => `${tag}:rv:${id}`,
    rate: (key: string) => `${tag}:rl:${key}`,
    seq: `${tag}:seq`,
    lease: (name: string) => `${tag}:ls:${name}`,
    fence: (name: string) => `${tag}:lf:${name}`,
    tick: (schedule: string, tickAt: number) => `${tag}:tk:${schedule}:${tickAt}`,
    last: `${tag}:last`,
    idempotency: (key: string) => `${tag}:ik:${key}`,
  }
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
  const script = async (name: Parameters<typeof runCoordScript>[1], k: string[], args: (string | number)[]) => {
    await ready()
    return runCoordScript(client, name, k, args)
  }
  const ms = (value: number, what: string) => {
    if (!(Number.isFinite(value) && value >= 1)) throw new InvalidOptionsError(`[redis] ${what} must be ≥ 1 ms`)
    return Math.ceil(value)
  }

  return {
    name: 'redis',
    scope: 'shared',
    connect: ready,
    async close() {
      closed = true
      if (owned) await closeClient(client)
    },

    async putHeartbeat(beat, ttlMs) {
      await script('heartbeat-put', [keys.beats, keys.beatData], [beat.id, JSON.stringify(beat), ms(ttlMs, 'ttlMs')])
    },
    async removeHeartbeat(id) {
      await ready()
      await client.multi().zrem(keys.beats, id).hdel(keys.beatData, id).exec()
    },
    async listHeartbeats() {
      const raw = (await script('heartbeat-list', [keys.beats, keys.beatData], [])) as (string | null)[]
      const beats: WorkerHeartbeat[] = []
      for (const json of raw) {
        if (json === null) continue
        try {
          beats.push(safeJsonParse(json) as WorkerHeartbeat)
        } catch {
          // A foreign or truncated entry is not a worker we can show; it expires with its TTL.
        }
      }
      return beats.sort((a, b) => a.startedAt - b.startedAt)
    },

    async revoke(id, ttlMs) {
      await ready()
      await client.set(keys.revoked(id), '1', 'PX', ms(ttlMs, 'ttlMs'))
    },
    async isRevoked(id) {
      await ready()
      return (await client.exists(keys.revoked(id))) === 1
    },

    async acquireRate(key, limit, windowMs) {
      if (!(Number.isInteger(limit) && limit >= 1)) throw new InvalidOptionsError('[redis] rate limit must be ≥ 1')
      return Number(await script('rate', [keys.rate(key), keys.seq], [limit, ms(windowMs, 'windowMs')]))
    },

    async acquireLease(name, owner, ttlMs) {
      const reply = (await script(
        'lease-acquire',
        [keys.lease(name), keys.fence(name)],
        [owner, ms(ttlMs, 'ttlMs')],
      )) as [number, number] | null
      if (reply === null) return undefined
      return { name, owner, token: Number(reply[0]), expiresAt: Number(reply[1]) }
    },
    async renewLease(lease, ttlMs) {
      const reply = await script(
        'lease-renew',
        [keys.lease(lease.name)],
        [lease.owner, lease.token, ms(ttlMs, 'ttlMs')],
      )
      return reply === null ? undefined : ({ ...lease, expiresAt: Number(reply) } satisfies Lease)
    },
    async releaseLease(lease) {
      await script('lease-release', [keys.lease(lease.name)], [lease.owner, lease.token])
    },

    async claimTick(schedule, tickAt, ttlMs) {
      const reply = await script(
        'claim-tick',
        [keys.tick(schedule, tickAt), keys.last],
        [schedule, tickAt, ms(ttlMs, 'ttlMs')],
      )
      return Number(reply) === 1
    },
    async lastTick(schedule) {
      await ready()
      const value = await client.hget(keys.last, schedule)
      return value === null ? undefined : Number(value)
    },

    async claimIdempotencyKey(key, holder, ttlMs) {
      const held = await script('idempotency-claim', [keys.idempotency(key)], [holder, ms(ttlMs, 'ttlMs')])
      return held === null ? { claimed: true } : { claimed: false, holder: String(held) }
    },
    async releaseIdempotencyKey(key, holder) {
      return Number(await script('idempotency-release', [keys.idempotency(key)], [holder])) === 1
    },
  }
}
