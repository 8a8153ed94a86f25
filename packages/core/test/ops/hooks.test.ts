import { composeHooks, createApp, rateLimitHooks, revokeHooks, startHeartbeat } from '@conveyor/core'
import { createMemoryCoordination, revokeTask } from '@conveyor/core/adapter'
import { afterEach, describe, expect, it } from 'vitest'

const apps: { close(): Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()))
})

describe('worker hooks', () => {
  it('a revoked task that has not started is not run and is recorded revoked', async () => {
    const store = createMemoryCoordination()
    const app = createApp({ broker: 'memory://', logger: false })
    apps.push(app)
    const ran: number[] = []
    const t = app.task('t', async (n: number) => {
      ran.push(n)
      return n
    })
    const revoked = await t.enqueue(1, { delayMs: 50 })
    const kept = await t.enqueue(2, { delayMs: 50 })
    await revokeTask(store, revoked.id)
    await app.worker({ hooks: revokeHooks(store) }).start()
    expect(await kept.result({ timeoutMs: 2000 })).toBe(2)
    await expect(revoked.result({ timeoutMs: 2000 })).rejects.toThrow()
    expect((await revoked.record())?.state).toBe('revoked')
    expect(ran).toEqual([2])
  })

  it('a rate limit spaces runs of the limited task only', async () => {
    const store = createMemoryCoordination()
    const app = createApp({ broker: 'memory://', logger: false })
    apps.push(app)
    const starts: number[] = []
    const limited = app.task('limited', async () => {
      starts.push(Date.now())
    })
    const free = app.task('free', async () => 'ok')
    await app
      .worker({
        concurrency: 10,
        hooks: composeHooks(revokeHooks(store), rateLimitHooks(store, { limited: { limit: 3, windowMs: 300 } })),
      })
      .start()
    const began = Date.now()
    const jobs = await Promise.all(Array.from({ length: 7 }, () => limited.enqueue(null as never)))
    expect(await (await free.enqueue(null as never)).result({ timeoutMs: 5000 })).toBe('ok')
    const freeDone = Date.now()
    await Promise.all(jobs.map((j) => j.result({ timeoutMs: 5000 })))
    starts.sort((a, b) => a - b)
    // 7 runs at 3 per 300 ms: the 4th waits for the first window, the 7th for the second. Starts are stamped after
    // their token, so these lower bounds hold on a loaded machine too.
    expect(starts[3]! - began).toBeGreaterThanOrEqual(290)
    expect(starts[6]! - began).toBeGreaterThanOrEqual(590)
    // The unlimited task did not queue behind the limited ones.
    expect(freeDone).toBeLessThan(starts[6]!)
  })

  it('a waiting rate-limited task goes back to the queue when the worker stops', async () => {
    const store = createMemoryCoordination()
    const app = createApp({ broker: 'memory://', logger: false })
    apps.push(app)
    const t = app.task('slow.rate', async () => undefined, { queue: 'rl' })
    const worker = app.worker({
      queues: ['rl'],
      hooks: rateLimitHooks(store, { 'slow.rate': { limit: 1, windowMs: 60_000 } }),
    })
    await worker.start()
    await t.enqueue(null as never)
    await t.enqueue(null as never)
    await new Promise((r) => setTimeout(r, 100))
    await worker.stop({ timeoutMs: 50 })
    const stats = await app.broker.stats('rl')
    expect(stats.ready).toBe(1)
    expect(stats.inFlight).toBe(0)
  })

  it('heartbeats list a running worker and drop it when it stops', async () => {
    const store = createMemoryCoordination()
    const app = createApp({ broker: 'memory://', logger: false })
    apps.push(app)
    app.task('hb', async () => undefined, { queue: 'hbq' })
    const worker = app.worker({ queues: ['hbq'] })
    await worker.start()
    const hb = startHeartbeat(store, worker, { intervalMs: 20, pool: 'p' })
    await new Promise((r) => setTimeout(r, 50))
    const [beat] = await store.listHeartbeats()
    expect(beat).toMatchObject({ id: worker.id, pid: process.pid, pool: 'p', queues: ['hbq'], state: 'running' })
    await hb.stop()
    expect(await store.listHeartbeats()).toEqual([])
  })
})
