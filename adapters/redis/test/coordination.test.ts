import { type CoordinationStore, createApp, createScheduler, NotConnectedError } from '@conveyor/core'
import type { WorkerHeartbeat } from '@conveyor/core/adapter'
import { createRedisCoordination } from '@conveyor/redis'
import { deletePrefix, REDIS_URL, rawRedis, sleep, uniquePrefix } from '@conveyor/test-support'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

let redis: Redis
const prefixes: string[] = []
const stores: CoordinationStore[] = []

function store(prefix = uniquePrefix('coord')): CoordinationStore {
  prefixes.push(prefix)
  const s = createRedisCoordination({ url: REDIS_URL, prefix })
  stores.push(s)
  return s
}

beforeAll(async () => {
  redis = await rawRedis()
})
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()))
  for (const prefix of prefixes) await deletePrefix(redis, prefix)
  await redis.quit()
})

const beat = (id: string, startedAt: number): WorkerHeartbeat => ({
  id,
  host: 'h',
  pid: 1,
  queues: ['q'],
  state: 'running',
  active: 0,
  processed: 0,
  startedAt,
  at: Date.now(),
})

describe('redis coordination store', () => {
  it('heartbeats are shared between connections and expire on the server clock', async () => {
    const prefix = uniquePrefix('coord-hb')
    const a = store(prefix)
    const b = store(prefix)
    await a.putHeartbeat(beat('w1', 1), 400)
    await b.putHeartbeat(beat('w2', 2), 5000)
    expect((await b.listHeartbeats()).map((h) => h.id)).toEqual(['w1', 'w2'])
    await sleep(500)
    expect((await a.listHeartbeats()).map((h) => h.id)).toEqual(['w2'])
    // The expired entry's data is cleaned up, not just hidden.
    expect(await redis.hlen(`{${prefix}:coord}:hbd`)).toBe(1)
    await a.removeHeartbeat('w2')
    expect(await b.listHeartbeats()).toEqual([])
  })

  it("lists heartbeats past Lua's unpack limit: 10,000 expired ones are dropped, 9,000 live ones returned", async () => {
    // Worker ids are unique per process: where nothing lists for a while (no dashboard open), short-lived workers
    // leave thousands of expired entries. One unpack() of them all exceeded Lua's stack and every list failed after.
    const prefix = uniquePrefix('coord-hb-many')
    const s = store(prefix)
    const beats = `{${prefix}:coord}:hb`
    const data = `{${prefix}:coord}:hbd`
    const fill = async (from: number, count: number, expiry: number) => {
      for (let i = from; i < from + count; i += 1000) {
        const ids = Array.from({ length: Math.min(1000, from + count - i) }, (_, n) => `w${i + n}`)
        await redis.zadd(beats, ...ids.flatMap((id) => [expiry, id]))
        await redis.hset(data, ...ids.flatMap((id, n) => [id, JSON.stringify(beat(id, i + n))]))
      }
    }
    await fill(0, 10_000, 1)
    await fill(10_000, 9_000, Date.now() + 60_000)
    const live = await s.listHeartbeats()
    expect(live).toHaveLength(9_000)
    expect(live[0]!.id).toBe('w10000')
    expect(live.at(-1)!.id).toBe('w18999')
    expect(await redis.zcard(beats)).toBe(9_000)
    expect(await redis.hlen(data)).toBe(9_000)
  })

  it('revokes are visible to every process and expire', async () => {
    const prefix = uniquePrefix('coord-rv')
    const a = store(prefix)
    const b = store(prefix)
    await a.revoke('task-1', 400)
    expect(await b.isRevoked('task-1')).toBe(true)
    expect(await b.isRevoked('task-2')).toBe(false)
    await sleep(500)
    expect(await b.isRevoked('task-1')).toBe(false)
  })

  it('a rate window is shared: concurrent callers on two connections never exceed the limit', async () => {
    const prefix = uniquePrefix('coord-rl')
    const a = store(prefix)
    const b = store(prefix)
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).acquireRate('email.send', 5, 1000)),
    )
    expect(results.filter((w) => w === 0)).toHaveLength(5)
    for (const wait of results.filter((w) => w > 0)) {
      expect(wait).toBeGreaterThan(900)
      expect(wait).toBeLessThanOrEqual(1000)
    }
    expect(await redis.pttl(`{${prefix}:coord}:rl:email.send`)).toBeGreaterThan(0)
  })

  it('the window slides: a token frees up when the oldest leaves', async () => {
    const s = store()
    expect(await s.acquireRate('k', 1, 1000)).toBe(0)
    const wait = await s.acquireRate('k', 1, 1000)
    expect(wait).toBeGreaterThan(0)
    await sleep(wait + 5)
    expect(await s.acquireRate('k', 1, 1000)).toBe(0)
  })

  it('leases fence: a new holder gets a larger token and the old one cannot renew or release', async () => {
    const prefix = uniquePrefix('coord-ls')
    const a = store(prefix)
    const b = store(prefix)
    const first = await a.acquireLease('scheduler', 'a', 1000)
    expect(first).toBeDefined()
    expect(await b.acquireLease('scheduler', 'b', 1000)).toBeUndefined()
    const again = await a.acquireLease('scheduler', 'a', 1000)
    expect(again?.token).toBe(first?.token)
    expect(await a.renewLease(first!, 1000)).toMatchObject({ token: first!.token })
    await sleep(1100)
    const second = await b.acquireLease('scheduler', 'b', 10_000)
    expect(second!.token).toBeGreaterThan(first!.token)
    expect(await a.renewLease(first!, 1000)).toBeUndefined()
    await a.releaseLease(first!)
    expect(await a.acquireLease('scheduler', 'a', 1000)).toBeUndefined()
    await b.releaseLease(second!)
    expect(await a.acquireLease('scheduler', 'a', 1000)).toBeDefined()
  })

  it('a tick is claimed by exactly one of many concurrent callers', async () => {
    const prefix = uniquePrefix('coord-tk')
    const all = [store(prefix), store(prefix), store(prefix)]
    const claims = await Promise.all(
      Array.from({ length: 30 }, (_, i) => all[i % 3]!.claimTick('nightly', 1_700_000_000_000, 60_000)),
    )
    expect(claims.filter(Boolean)).toHaveLength(1)
    expect(await all[1]!.lastTick('nightly')).toBe(1_700_000_000_000)
    expect(await all[2]!.claimTick('nightly', 1_600_000_000_000, 60_000)).toBe(true)
    expect(await all[0]!.lastTick('nightly')).toBe(1_700_000_000_000)
  })

  it('two schedulers on Redis fire each tick once over several ticks', async () => {
    const prefix = uniquePrefix('coord-sched')
    const app = createApp({ broker: 'memory://', logger: false })
    const enqueued: string[] = []
    app.events.on('task.enqueued', (e) => enqueued.push(e.id))
    const schedules = [{ name: 'every-100ms', everyMs: 100, task: 'tick.task' }]
    const a = createScheduler(app, { coordination: store(prefix), schedules, id: 'a' })
    const b = createScheduler(app, { coordination: store(prefix), schedules, id: 'b' })
    await Promise.all([a.start(), b.start()])
    await sleep(650)
    await Promise.all([a.stop(), b.stop()])
    expect(enqueued.length).toBeGreaterThanOrEqual(4)
    expect(new Set(enqueued).size).toBe(enqueued.length)
    await app.close()
  })

  it('an idempotency key is claimed by exactly one of many callers on several connections; the rest get its holder', async () => {
    const prefix = uniquePrefix('coord-ik')
    const all = [store(prefix), store(prefix), store(prefix)]
    const claims = await Promise.all(
      Array.from({ length: 30 }, (_, i) => all[i % 3]!.claimIdempotencyKey('["pay","order-42"]', `job-${i}`, 60_000)),
    )
    const winners = claims.flatMap((c, i) => (c.claimed ? [`job-${i}`] : []))
    expect(winners).toHaveLength(1)
    for (const claim of claims) if (!claim.claimed) expect(claim.holder).toBe(winners[0])
    // Stored under the coordination hash tag, with the TTL on the server.
    const key = `{${prefix}:coord}:ik:["pay","order-42"]`
    expect(await redis.get(key)).toBe(winners[0])
    const pttl = await redis.pttl(key)
    expect(pttl).toBeGreaterThan(59_000)
    expect(pttl).toBeLessThanOrEqual(60_000)
  })

  it('an idempotency key lapses on the server clock, and a repeat does not extend it', async () => {
    const s = store()
    expect(await s.claimIdempotencyKey('k', 'job-1', 400)).toEqual({ claimed: true })
    await sleep(250)
    expect(await s.claimIdempotencyKey('k', 'job-2', 400)).toEqual({ claimed: false, holder: 'job-1' })
    await sleep(200)
    expect(await s.claimIdempotencyKey('k', 'job-3', 400)).toEqual({ claimed: true })
  })

  it('an idempotency key is released only while it still holds the releasing job', async () => {
    const prefix = uniquePrefix('coord-ikr')
    const a = store(prefix)
    const b = store(prefix)
    await a.claimIdempotencyKey('k', 'job-1', 300)
    expect(await b.releaseIdempotencyKey('k', 'job-other')).toBe(false)
    expect(await a.releaseIdempotencyKey('k', 'job-1')).toBe(true)
    expect(await redis.exists(`{${prefix}:coord}:ik:k`)).toBe(0)
    expect(await b.claimIdempotencyKey('k', 'job-2', 200)).toEqual({ claimed: true })
    await sleep(250)
    // job-2's claim lapsed and job-3 took the key: job-2's late release must not free it.
    expect(await a.claimIdempotencyKey('k', 'job-3', 60_000)).toEqual({ claimed: true })
    expect(await b.releaseIdempotencyKey('k', 'job-2')).toBe(false)
    expect(await redis.get(`{${prefix}:coord}:ik:k`)).toBe('job-3')
  })

  it('an unreachable server gives one clear NotConnectedError', async () => {
    const s = createRedisCoordination({ url: 'redis://127.0.0.1:1', prefix: uniquePrefix('coord-down') })
    stores.push(s)
    const error = await s.connect().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NotConnectedError)
    expect((error as Error).message).toMatch(/^\[conveyor\] \[redis\] cannot reach Redis/)
  })
})
