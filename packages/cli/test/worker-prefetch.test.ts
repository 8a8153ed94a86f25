import { until } from '@conveyor/test-support'
import { describe, expect, it } from 'vitest'
import { REDIS_APP, redisSandboxes, start } from './helpers'

const sandboxes = redisSandboxes()

describe('conveyor worker --prefetch', { timeout: 90_000 }, () => {
  it('holds that many deliveries per process while only --concurrency run', async () => {
    const { env, app, journal } = await sandboxes.setup('prefetch')
    for (let n = 0; n < 6; n++) await app.enqueue('work.slow', { ms: 4_000, n })
    const worker = start(['worker', '--app', REDIS_APP, '-c', '1', '--prefetch', '4'], env)
    const started = () => journal().filter((e) => e.event === 'start').length
    await until(() => started() === 1, 30_000, 'the first task running')
    // The other three are held by the worker (in flight), not left ready: the prefetch reached the broker.
    await until(async () => (await app.broker.stats('default')).inFlight === 4, 10_000, 'four deliveries held')
    expect(await app.broker.stats('default')).toMatchObject({ ready: 2, inFlight: 4 })
    expect(started()).toBe(1)
    worker.signal('SIGKILL')
    await worker.exited
  })

  it('refuses a prefetch that is not a whole number ≥ 1, naming it', async () => {
    const { env } = await sandboxes.setup('prefetch-bad')
    const worker = start(['worker', '--app', REDIS_APP, '--prefetch', '0'], env)
    expect(await worker.exited).toBe(2)
    expect(worker.stderr()).toMatch(/--prefetch/)
  })
})
