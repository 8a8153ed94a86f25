import { createApp } from '@conveyor/core'
import {
  createMemoryBroker,
  createMemoryResultBackend,
  createMemoryStore,
  type ResultBackend,
} from '@conveyor/core/adapter'
import { describe, expect, it, vi } from 'vitest'
import { sleep } from './helpers'

describe('graceful stop', () => {
  it('stops fetching, lets running tasks finish, and leaves queued ones on the broker', async () => {
    const app = createApp({ broker: 'memory://', logger: false })
    const started: number[] = []
    const finished: number[] = []
    const task = app.task('work', async (input: { i: number }) => {
      started.push(input.i)
      await sleep(80)
      finished.push(input.i)
    })
    for (let i = 0; i < 10; i++) await task.enqueue({ i })
    const worker = app.worker({ concurrency: 2, prefetch: 4 })
    await worker.start()
    await vi.waitFor(() => expect(started).toHaveLength(2))
    await worker.stop({ timeoutMs: 2000 })
    expect(worker.state).toBe('stopped')
    expect(finished.sort()).toEqual(started.sort())
    // Prefetched-but-not-started deliveries went back: everything not finished is ready again, nothing is lost.
    const stats = await app.broker.stats('default')
    expect(stats).toMatchObject({ ready: 10 - finished.length, inFlight: 0, delayed: 0, dead: 0 })
    await app.close()
  })

  it('aborts tasks still running at the deadline and returns their deliveries to the queue', async () => {
    const store = createMemoryStore()
    const app = createApp({ broker: createMemoryBroker({ store }), logger: false })
    const aborted: string[] = []
    const task = app.task('stuck', (_: null, ctx) => {
      return new Promise((_resolve, reject) => {
        ctx.signal.addEventListener('abort', () => {
          aborted.push(ctx.id)
          reject(ctx.signal.reason)
        })
      })
    })
    const job = await task.enqueue(null)
    const worker = app.worker()
    await worker.start()
    await vi.waitFor(() => expect(worker.active).toBe(1))
    const t0 = Date.now()
    await worker.stop({ timeoutMs: 100 })
    expect(Date.now() - t0).toBeLessThan(1000)
    expect(aborted).toEqual([job.id])
    expect(await app.broker.stats('default')).toMatchObject({ ready: 1, inFlight: 0, delayed: 0, dead: 0 })
    // The returned delivery was not counted as an attempt or a crash: a new worker gets attempt 1, delivery 1.
    const second = createApp({ broker: createMemoryBroker({ store }), logger: false })
    const seen: [number, number][] = []
    second.task('stuck', (_: null, ctx) => {
      seen.push([ctx.attempt, ctx.deliveryCount])
    })
    await second.worker().start()
    await vi.waitFor(() => expect(seen).toEqual([[1, 1]]))
    await second.close()
    await app.close()
  })

  it('stops on SIGTERM when asked to handle signals', async () => {
    const app = createApp({ broker: 'memory://', logger: false })
    app.task('t', () => null)
    const worker = app.worker({ handleSignals: true })
    await worker.start()
    const before = process.listenerCount('SIGTERM')
    process.emit('SIGTERM', 'SIGTERM')
    await vi.waitFor(() => expect(worker.state).toBe('stopped'))
    expect(process.listenerCount('SIGTERM')).toBe(before - 1)
    await app.close()
  })
})

describe('poison messages', () => {
  it('dead-letters a delivery whose worker dies every time, after maxDeliveries', async () => {
    const store = createMemoryStore()
    const producer = createApp({ broker: createMemoryBroker({ store }), logger: false })
    const job = await producer.enqueue('crasher', { x: 1 })
    let deliveries = 0
    for (let crash = 1; crash <= 3; crash++) {
      // Each "process" takes the message and dies with it (destroy: no ack, no release, no lease extension).
      const broker = createMemoryBroker({ store, leaseMs: 40 })
      const app = createApp({ broker, logger: false })
      app.task('crasher', () => new Promise(() => {}), { maxDeliveries: 3 })
      await app.worker().start()
      await vi.waitFor(() => expect(store.stats('default').inFlight).toBe(1))
      deliveries++
      await broker.destroy()
      await vi.waitFor(() => expect(store.stats('default').ready).toBe(1), { timeout: 2000 })
    }
    const survivor = createApp({ broker: createMemoryBroker({ store, leaseMs: 40 }), logger: false })
    const ran = vi.fn()
    survivor.task('crasher', ran, { maxDeliveries: 3 })
    await survivor.worker().start()
    await vi.waitFor(async () => expect(await survivor.broker.deadLetters.count('default')).toBe(1))
    expect(ran).not.toHaveBeenCalled()
    expect(deliveries).toBe(3)
    const [letter] = await survivor.broker.deadLetters.list('default')
    expect(letter).toMatchObject({
      id: job.id,
      reason: 'max-deliveries',
      deliveryCount: 4,
      error: { code: 'CONVEYOR_POISON_MESSAGE' },
    })
    expect(store.stats('default')).toEqual({ ready: 0, inFlight: 0, delayed: 0, dead: 1 })
    await survivor.close()
    await producer.close()
  })

  it('a stop() while start() is still subscribing ends with the worker stopped, running nothing', async () => {
    const app = createApp({ broker: 'memory://', logger: false })
    let runs = 0
    const task = app.task('counted', () => {
      runs++
    })
    const worker = app.worker()
    const starting = worker.start()
    await worker.stop()
    await starting
    expect(worker.state).toBe('stopped')
    await task.enqueue(null)
    await sleep(150)
    expect(runs).toBe(0)
    expect(await app.broker.stats('default')).toMatchObject({ ready: 1, inFlight: 0 })
    await app.close()
  })

  it('a hard stop while the run records `started` gives the delivery back and never calls the handler', async () => {
    // A slow result store (300 ms per write) holds the run between its delivery and its handler: the stop comes then.
    const inner = createMemoryResultBackend()
    const results: ResultBackend = {
      ...inner,
      name: 'slow',
      set: async (record, options) => {
        await sleep(300)
        return inner.set(record, options)
      },
    }
    const app = createApp({ broker: 'memory://', results, logger: false })
    const ran: string[] = []
    const task = app.task('once', (_: null, ctx) => {
      ran.push(ctx.id)
    })
    const worker = app.worker()
    await worker.start()
    await task.enqueue(null)
    await sleep(50)
    await worker.stop({ timeoutMs: 0 })
    await sleep(500)
    expect(ran).toEqual([])
    expect(await app.broker.stats('default')).toMatchObject({ ready: 1, inFlight: 0, dead: 0 })
    await app.close()
  })
})
