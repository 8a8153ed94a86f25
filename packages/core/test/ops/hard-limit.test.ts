import { composeHooks, createApp, fixed, revokeHooks } from '@conveyor/core'
import {
  createMemoryCoordination,
  hardLimitHooks,
  recordHardLimitKill,
  replayDeadLetters,
} from '@conveyor/core/adapter'
import { afterEach, describe, expect, it } from 'vitest'

const apps: { close(): Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()))
})

function setup(maxAttempts: number) {
  const app = createApp({ broker: 'memory://', logger: false })
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
  return { app, t, attempts, limitOf }
}

describe('hard-limit hooks', () => {
  it('a kill noted over IPC fails that attempt once with TaskTimeoutError; the retry runs', async () => {
    const { app, t, attempts, limitOf } = setup(3)
    const hooks = hardLimitHooks({ limitOf })
    const retried: number[] = []
    app.events.on('task.retried', (e) => retried.push(e.attempt))
    const job = await t.enqueue(null, { delayMs: 30 })
    hooks.noteKill({ id: job.id, task: 'limited', attempt: 1, limitMs: 200 })
    await app.worker({ hooks: composeHooks(revokeHooks(createMemoryCoordination()), hooks) }).start()
    expect(await job.result({ timeoutMs: 2000 })).toBe(2)
    expect(attempts).toEqual([2])
    expect(retried).toEqual([1])
  })

  it('a kill recorded in the store fails the attempt in another process, once: dead-lettered, then replayed, it runs', async () => {
    const { app, t, attempts, limitOf } = setup(1)
    const store = createMemoryCoordination()
    const job = await t.enqueue(null, { delayMs: 30 })
    await recordHardLimitKill(store, { id: job.id, attempt: 1 })
    await app.worker({ hooks: composeHooks(hardLimitHooks({ store, limitOf })) }).start()
    await expect(job.result({ timeoutMs: 2000 })).rejects.toThrow()
    const record = await job.record()
    expect(record?.state).toBe('dead-lettered')
    expect(record?.error?.name).toBe('TaskTimeoutError')
    const dead = await app.broker.deadLetters.list('default')
    expect(dead.map((d) => [d.id, d.reason])).toEqual([[job.id, 'max-attempts']])
    expect(attempts).toEqual([])
    // A replay within the hour is the same id at attempt 1 again: the operator asked for a fresh run, not for the old
    // kill's verdict (the store's mark failed it for the whole hour before).
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
    expect(await hooks.beforeRun!(envelope, new AbortController().signal)).toBe('run')
    expect(reads).toBe(0)
  })
})
