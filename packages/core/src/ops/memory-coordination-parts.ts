import type { CoordinationStore, Lease, WorkerHeartbeat } from './coordination'

// The memory coordination store by concept: each part is a slice of the `CoordinationStore` contract over its own maps.

/** The clock TTLs and windows use. */
type Clock = () => number

const sweep = <K>(map: Map<K, number>, at: number) => {
  for (const [key, until] of map) if (until <= at) map.delete(key)
}

/** Worker heartbeats (live until their TTL) and revoked run ids. */
export function memoryHeartbeatsAndRevokes(
  now: Clock,
): Pick<CoordinationStore, 'putHeartbeat' | 'removeHeartbeat' | 'listHeartbeats' | 'revoke' | 'isRevoked'> {
  const beats = new Map<string, { beat: WorkerHeartbeat; until: number }>()
  const revoked = new Map<string, number>()
  return {
    async putHeartbeat(beat, ttlMs) {
      beats.set(beat.id, { beat, until: now() + ttlMs })
    },
    async removeHeartbeat(id) {
      beats.delete(id)
    },
    async listHeartbeats() {
      const at = now()
      for (const [id, entry] of beats) if (entry.until <= at) beats.delete(id)
      return [...beats.values()].map((e) => e.beat).sort((a, b) => a.startedAt - b.startedAt)
    },
    async revoke(id, ttlMs) {
      sweep(revoked, now())
      revoked.set(id, now() + ttlMs)
    },
    async isRevoked(id) {
      const until = revoked.get(id)
      return until !== undefined && until > now()
    },
  }
}

/** Sliding-window rate limits. */
export function memoryRates(now: Clock): Pick<CoordinationStore, 'acquireRate'> {
  // Times tokens were taken, oldest first; `head` skips the ones that left the window (compacted now and then).
  const windows = new Map<string, { times: number[]; head: number }>()
  return {
    async acquireRate(key, limit, windowMs) {
      const at = now()
      let window = windows.get(key)
      if (window === undefined) {
        window = { times: [], head: 0 }
        windows.set(key, window)
      }
      const { times } = window
      while (window.head < times.length && times[window.head]! <= at - windowMs) window.head++
      if (window.head > 1024 && window.head * 2 > times.length) {
        times.splice(0, window.head)
        window.head = 0
      }
      const count = times.length - window.head
      if (count < limit) {
        times.push(at)
        return 0
      }
      // The (count - limit)th oldest token must leave the window before one is free again.
      return Math.max(1, times[window.head + count - limit]! + windowMs - at)
    },
  }
}

/** Named leases with fencing tokens that grow with every new holder. */
export function memoryLeases(now: Clock): Pick<CoordinationStore, 'acquireLease' | 'renewLease' | 'releaseLease'> {
  const leases = new Map<string, Lease>()
  const fences = new Map<string, number>()
  const nextFence = (name: string): number => {
    const token = (fences.get(name) ?? 0) + 1
    fences.set(name, token)
    return token
  }
  return {
    async acquireLease(name, owner, ttlMs) {
      const at = now()
      const held = leases.get(name)
      if (held !== undefined && held.expiresAt > at && held.owner !== owner) return undefined
      const token = held !== undefined && held.owner === owner && held.expiresAt > at ? held.token : nextFence(name)
      const lease: Lease = { name, owner, token, expiresAt: at + ttlMs }
      leases.set(name, lease)
      return lease
    },
    async renewLease(lease, ttlMs) {
      const at = now()
      const held = leases.get(lease.name)
      if (held === undefined || held.token !== lease.token || held.owner !== lease.owner || held.expiresAt <= at) {
        return undefined
      }
      const renewed: Lease = { ...held, expiresAt: at + ttlMs }
      leases.set(lease.name, renewed)
      return renewed
    },
    async releaseLease(lease) {
      const held = leases.get(lease.name)
      if (held !== undefined && held.token === lease.token && held.owner === lease.owner) leases.delete(lease.name)
    },
  }
}

/** Schedule tick claims (one claimer per tick) and the last tick claimed per schedule. */
export function memoryTicks(now: Clock): Pick<CoordinationStore, 'claimTick' | 'lastTick'> {
  const ticks = new Map<string, number>()
  const last = new Map<string, number>()
  return {
    async claimTick(schedule, tickAt, ttlMs) {
      const at = now()
      sweep(ticks, at)
      const key = `${schedule}\u0000${tickAt}`
      if (ticks.has(key)) return false
      ticks.set(key, at + ttlMs)
      if ((last.get(schedule) ?? Number.NEGATIVE_INFINITY) < tickAt) last.set(schedule, tickAt)
      return true
    },
    async lastTick(schedule) {
      return last.get(schedule)
    },
  }
}

/** Idempotency keys held by one producer until their TTL. */
export function memoryIdempotency(
  now: Clock,
): Pick<CoordinationStore, 'claimIdempotencyKey' | 'releaseIdempotencyKey'> {
  const idempotency = new Map<string, { holder: string; until: number }>()
  // Claims since the last sweep of lapsed keys: sweeping once the map could have doubled keeps a claim O(1) amortized.
  let claimsSinceSweep = 0
  return {
    async claimIdempotencyKey(key, holder, ttlMs) {
      const at = now()
      if (++claimsSinceSweep >= Math.max(1024, idempotency.size)) {
        for (const [k, entry] of idempotency) if (entry.until <= at) idempotency.delete(k)
        claimsSinceSweep = 0
      }
      const held = idempotency.get(key)
      if (held !== undefined && held.until > at) return { claimed: false, holder: held.holder }
      idempotency.set(key, { holder, until: at + ttlMs })
      return { claimed: true }
    },
    async releaseIdempotencyKey(key, holder) {
      const held = idempotency.get(key)
      if (held === undefined || held.holder !== holder || held.until <= now()) return false
      idempotency.delete(key)
      return true
    },
  }
}
