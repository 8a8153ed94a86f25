import { composeHooks, createApp, fixed, revokeHooks } from '@conveyor/core'
import {
  createMemoryBroker,
  createMemoryCoordination,
  createMemoryStore,
  hardLimitHooks,
  type MemoryStore,
  recordHardLimitKill,
  replayDeadLetters,
} from '@conveyor/core/adapter'
import { afterEach, describe, expect, it, vi } from 'vitest'

const apps: { close(): Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()))
})

/** The surviving worker's app, on a store a killed process shares: leases of 40 ms, so its job comes back fast. */
function setup(maxAttempts: number) {
  const store = createMemoryStore()
  const app = createApp({ broker: createMemoryBroker({ store, leaseMs: 40 }), logger: false })
  apps.push(app)
  const attempts: number[] = []
  const t = app.task(
    'limited',
    async (_input: null, ctx) => {
      attempts.push(ctx.attempt)
      return ctx.attempt
    },
    { hardTimeoutMs: 200, retry: { maxAttempts, backoff: fixed(5) } },
  )
  const limitOf = (task: string) => app.tasks().find((x) => x.name === task)?.settings.hardTimeoutMs
  return { app, store, t, attempts, limitOf }
}

/**
 * A process that takes the job and is killed holding it (what the supervisor does past the hard limit): no ack, no
 * release, no lease extension, so the job comes back to the survivor as a redelivery of the same attempt.
 */
async function killedHolding(store: MemoryStore): Promise<void> {
  const broker = createMemoryBroker({ store, leaseMs: 40 })
  const app = createApp({ broker, logger: false })
  app.task('limited', () => new Promise(() => {}))
  await app.worker().start()
  await vi.waitFor(() => expect(store.stats('default').inFlight).toBe(1))
  await broker.destroy()
}

describe('hard-limit hooks', () => {
  it('a kill noted over IPC fails that attempt once with TaskTimeoutError; the retry runs', async () => {
    const { app, store, t, attempts, limitOf } = setup(3)
    const hooks = hardLimitHooks({ limitOf })
    const retried: number[] = []
    app.events.on('task.retried', (e) => retried.push(e.attempt))
    const job = await t.enqueue(null)
    await killedHolding(store)
    hooks.noteKill({ id: job.id, task: 'limited', attempt: 1, limitMs: 200 })
    await app.worker({ hooks: composeHooks(revokeHooks(createMemoryCoordination()), hooks) }).start()
    expect(await job.result({ timeoutMs: 2000 })).toBe(2)
    expect(attempts).toEqual([2])
    expect(retried).toEqual([1])
  })

  it('a kill recorded in the store fails the attempt in another process; a replay of its dead letter runs', async () => {
    const { app, store, t, attempts, limitOf } = setup(1)
    const kills = createMemoryCoordination()
    const hooks = hardLimitHooks({ store: kills, limitOf })
    const job = await t.enqueue(null)
    await killedHolding(store)
    await recordHardLimitKill(kills, { id: job.id, attempt: 1 })
    await app.worker({ hooks: composeHooks(hooks) }).start()
    await expect(job.result({ timeoutMs: 2000 })).rejects.toThrow()
    const record = await job.record()
    expect(record?.state).toBe('dead-lettered')
    expect(record?.error?.name).toBe('TaskTimeoutError')
    const dead = await app.broker.deadLetters.list('default')
    expect(dead.map((d) => [d.id, d.reason])).toEqual([[job.id, 'max-attempts']])
    expect(attempts).toEqual([])
    // Replayed within the hour: the same id at attempt 1 again, delivered for the first time. The store still holds
    // the kill, and this worker heard of it over IPC too (as every child of the supervisor did): it runs anyway.
    hooks.noteKill({ id: job.id, task: 'limited', attempt: 1, limitMs: 200 })
    await replayDeadLetters({ app, queue: 'default', deadLetters: dead })
    expect(await job.result({ timeoutMs: 2000 })).toBe(1)
    expect(attempts).toEqual([1])
    expect(await app.broker.deadLetters.count('default')).toBe(0)
  })

  it('tasks without a hard limit are not looked up in the store', async () => {
    const store = createMemoryCoordination()
    let reads = 0
    const counting = {
      ...store,
      isRevoked: async (id: string) => {
        reads++
        return store.isRevoked(id)
      },
    }
    const hooks = hardLimitHooks({ store: counting, limitOf: () => undefined })
    const envelope = { id: 'x', task: 'free', attempt: 1 } as Parameters<NonNullable<typeof hooks.beforeRun>>[0]
    const redelivered = { deliveryCount: 2 }
    expect(await hooks.beforeRun!(envelope, new AbortController().signal, redelivered)).toBe('run')
    expect(reads).toBe(0)
  })
})
