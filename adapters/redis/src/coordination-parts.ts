import { InvalidOptionsError } from '@conveyor/core'
import { type CoordinationStore, type Lease, safeJsonParse, type WorkerHeartbeat } from '@conveyor/core/adapter'
import type { CoordScript } from './coordination-scripts'
import type { CoordinationKeys } from './keys'
import type { RedisClient } from './options'

/** What every part of the coordination store works with. */
export interface CoordinationContext {
  readonly client: RedisClient
  readonly keys: CoordinationKeys
  /** Throws `NotConnectedError` when closed or Redis is out of reach; waits for the connection otherwise. */
  readonly ready: () => Promise<void>
  /** Run one of the store's scripts once ready. */
  readonly script: (name: CoordScript, keys: string[], args: (string | number)[]) => Promise<unknown>
}

const ms = (value: number, what: string) => {
  if (!(Number.isFinite(value) && value >= 1)) throw new InvalidOptionsError(`[redis] ${what} must be ≥ 1 ms`)
  return Math.ceil(value)
}

/** Worker heartbeats (a zset of expiries beside a hash of JSON) and revoked task ids (strings with a TTL). */
export function heartbeatsAndRevokes({
  client,
  keys,
  ready,
  script,
}: CoordinationContext): Pick<
  CoordinationStore,
  'putHeartbeat' | 'removeHeartbeat' | 'listHeartbeats' | 'revoke' | 'isRevoked'
> {
  return {
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
  }
}

/** Sliding-window rate limits and fenced leases. */
export function ratesAndLeases({
  keys,
  script,
}: CoordinationContext): Pick<CoordinationStore, 'acquireRate' | 'acquireLease' | 'renewLease' | 'releaseLease'> {
  return {
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
  }
}

/** Schedule ticks claimed once in the fleet, and idempotency keys held by the job that claimed them. */
export function schedulesAndIdempotency({
  client,
  keys,
  ready,
  script,
}: CoordinationContext): Pick<
  CoordinationStore,
  'claimTick' | 'lastTick' | 'claimIdempotencyKey' | 'releaseIdempotencyKey'
> {
  return {
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
