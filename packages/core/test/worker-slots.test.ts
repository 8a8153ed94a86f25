import { type Broker, createApp } from '@conveyor/core'
import { createMemoryBroker, type Delivery } from '@conveyor/core/adapter'
import { describe, expect, it, vi } from 'vitest'
import { sleep } from './helpers'

/** A memory broker whose acks take `ms` to be confirmed, like a networked broker's round trip. */
function slowAckBroker(ms: number, confirmed: string[]): Broker {
  const broker = createMemoryBroker()
  return new Proxy(broker, {
    get(target, key, receiver) {
      if (key !== 'consume') return Reflect.get(target, key, receiver)
      const consume: Broker['consume'] = (queue, handler, options) =>
        target.consume(
          queue,
          (delivery: Delivery) =>
            handler(
              Object.assign(Object.create(delivery) as Delivery, {
                ack: async () => {
                  await sleep(ms)
                  await delivery.ack()
                  confirmed.push(delivery.envelope.id)
                },
              }),
            ),
          options,
        )
      return consume
    },
  })
}

describe('worker handler slots', () => {
  it('starts the next handler while the previous outcome is being confirmed, and stop waits for the confirmations', async () => {
    const confirmed: string[] = []
    const app = createApp({ broker: slowAckBroker(150, confirmed), logger: false })
    const running = { now: 0, max: 0 }
    const startedAt: Record<number, number> = {}
    const task = app.task('work', async (input: { i: number }) => {
      startedAt[input.i] = Date.now()
      running.now++
      running.max = Math.max(running.max, running.now)
      await sleep(5)
      running.now--
    })
    const ids = []
    for (let i = 0; i < 3; i++) ids.push((await task.enqueue({ i })).id)
    const worker = app.worker({ concurrency: 1, prefetch: 3 })
    await worker.start()
    await vi.waitFor(() => expect(Object.keys(startedAt)).toHaveLength(3), { timeout: 2_000 })
    // All three ran before the first confirmation (150 ms) came back, one handler at a time.
    const starts = Object.values(startedAt)
    expect(Math.max(...starts) - Math.min(...starts)).toBeLessThan(140)
    expect(running.max).toBe(1)
    await worker.stop({ timeoutMs: 2_000 })
    // stop() resolved only once every ack was confirmed: nothing held, nothing lost.
    expect(confirmed.sort()).toEqual([...ids].sort())
    expect(await app.broker.stats('default')).toEqual({ ready: 0, inFlight: 0, delayed: 0, dead: 0 })
    await app.close()
  })

  it('works through thousands of waiting deliveries that settle without awaiting (expired), without deep recursion', async () => {
    const app = createApp({ broker: 'memory://', logger: false })
    let ran = 0
    const task = app.task('work', async (input: { slow: boolean }) => {
      ran++
      if (input.slow) await sleep(100)
    })
    await task.enqueue({ slow: true })
    const n = 3_000
    await task.enqueueMany(
      Array.from({ length: n }, () => ({ slow: false })),
      { expiresInMs: 1 },
    )
    await sleep(10)
    const expired: string[] = []
    app.events.on('task.expired', (e) => expired.push(e.id))
    const failures: unknown[] = []
    const onRejection = (error: unknown) => failures.push(error)
    process.on('unhandledRejection', onRejection)
    try {
      const worker = app.worker({ concurrency: 1, prefetch: n + 1 })
      await worker.start()
      await vi.waitFor(() => expect(expired).toHaveLength(n), { timeout: 10_000 })
      await worker.stop({ timeoutMs: 2_000 })
    } finally {
      process.off('unhandledRejection', onRejection)
    }
    expect(failures).toEqual([])
    expect(ran).toBe(1)
    expect(await app.broker.stats('default')).toEqual({ ready: 0, inFlight: 0, delayed: 0, dead: 0 })
    await app.close()
  })
})
