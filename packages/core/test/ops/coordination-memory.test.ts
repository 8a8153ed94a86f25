import { createMemoryCoordination } from '@conveyor/core/adapter'
import { describe, expect, it } from 'vitest'

function fakeClock(start = 1_000_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

describe('memory coordination store', () => {
  it('heartbeats expire after their TTL', async () => {
    const clock = fakeClock()
    const store = createMemoryCoordination({ now: clock.now })
    const beat = { id: 'w1', host: 'h', pid: 1, queues: ['q'], state: 'running', active: 0, processed: 0 }
    await store.putHeartbeat({ ...beat, startedAt: 1, at: clock.now() }, 100)
    await store.putHeartbeat({ ...beat, id: 'w2', startedAt: 2, at: clock.now() }, 300)
    expect((await store.listHeartbeats()).map((b) => b.id)).toEqual(['w1', 'w2'])
    clock.advance(150)
    expect((await store.listHeartbeats()).map((b) => b.id)).toEqual(['w2'])
    await store.removeHeartbeat('w2')
    expect(await store.listHeartbeats()).toEqual([])
  })

  it('revokes expire', async () => {
    const clock = fakeClock()
    const store = createMemoryCoordination({ now: clock.now })
    await store.revoke('a', 100)
    expect(await store.isRevoked('a')).toBe(true)
    expect(await store.isRevoked('b')).toBe(false)
    clock.advance(100)
    expect(await store.isRevoked('a')).toBe(false)
  })

  it('rate windows slide and say how long to wait', async () => {
    const clock = fakeClock()
    const store = createMemoryCoordination({ now: clock.now })
    expect(await store.acquireRate('k', 2, 1000)).toBe(0)
    clock.advance(400)
    expect(await store.acquireRate('k', 2, 1000)).toBe(0)
    expect(await store.acquireRate('k', 2, 1000)).toBe(600)
    clock.advance(600)
    expect(await store.acquireRate('k', 2, 1000)).toBe(0)
    expect(await store.acquireRate('k', 2, 1000)).toBe(400)
  })

  it('leases have fencing tokens that grow when they change hands', async () => {
    const clock = fakeClock()
    const store = createMemoryCoordination({ now: clock.now })
    const a = await store.acquireLease('sched', 'a', 100)
    expect(a?.token).toBe(1)
    expect(await store.acquireLease('sched', 'b', 100)).toBeUndefined()
    clock.advance(50)
    const renewed = await store.renewLease(a!, 100)
    expect(renewed?.expiresAt).toBe(clock.now() + 100)
    clock.advance(100)
    const b = await store.acquireLease('sched', 'b', 100)
    expect(b?.token).toBe(2)
    expect(await store.renewLease(a!, 100)).toBeUndefined()
    await store.releaseLease(a!) // not the holder: no effect
    expect(await store.acquireLease('sched', 'c', 100)).toBeUndefined()
    await store.releaseLease(b!)
    expect((await store.acquireLease('sched', 'c', 100))?.token).toBe(3)
  })

  it('a tick is claimed once and recorded as the last tick', async () => {
    const store = createMemoryCoordination()
    expect(await store.claimTick('s', 1000, 60_000)).toBe(true)
    expect(await store.claimTick('s', 1000, 60_000)).toBe(false)
    expect(await store.claimTick('s', 500, 60_000)).toBe(true)
    expect(await store.lastTick('s')).toBe(1000)
    expect(await store.lastTick('other')).toBeUndefined()
  })

  it('an idempotency key is claimed once until it lapses; repeats get the holder and do not extend it', async () => {
    const clock = fakeClock()
    const store = createMemoryCoordination({ now: clock.now })
    expect(await store.claimIdempotencyKey('k', 'job-1', 100)).toEqual({ claimed: true })
    clock.advance(60)
    expect(await store.claimIdempotencyKey('k', 'job-2', 100)).toEqual({ claimed: false, holder: 'job-1' })
    expect(await store.claimIdempotencyKey('other', 'job-3', 100)).toEqual({ claimed: true })
    clock.advance(40)
    expect(await store.claimIdempotencyKey('k', 'job-4', 100)).toEqual({ claimed: true })
  })

  it('an idempotency key is released only by its holder, and not after it lapsed and changed hands', async () => {
    const clock = fakeClock()
    const store = createMemoryCoordination({ now: clock.now })
    await store.claimIdempotencyKey('k', 'job-1', 100)
    expect(await store.releaseIdempotencyKey('k', 'job-2')).toBe(false)
    expect(await store.releaseIdempotencyKey('k', 'job-1')).toBe(true)
    expect(await store.claimIdempotencyKey('k', 'job-2', 100)).toEqual({ claimed: true })
    clock.advance(100)
    expect(await store.claimIdempotencyKey('k', 'job-3', 100)).toEqual({ claimed: true })
    expect(await store.releaseIdempotencyKey('k', 'job-2')).toBe(false)
    expect(await store.claimIdempotencyKey('k', 'job-4', 100)).toEqual({ claimed: false, holder: 'job-3' })
    expect(await store.releaseIdempotencyKey('never', 'job-1')).toBe(false)
  })

  it('lapsed idempotency keys are swept while live ones survive the sweep', async () => {
    const clock = fakeClock()
    const store = createMemoryCoordination({ now: clock.now })
    await store.claimIdempotencyKey('long', 'kept', 1_000_000)
    for (let i = 0; i < 3000; i++) await store.claimIdempotencyKey(`short-${i}`, 'gone', 10)
    clock.advance(20)
    for (let i = 0; i < 3000; i++) await store.claimIdempotencyKey(`short-${i}`, 'new', 10)
    expect(await store.claimIdempotencyKey('long', 'x', 10)).toEqual({ claimed: false, holder: 'kept' })
  })
})
