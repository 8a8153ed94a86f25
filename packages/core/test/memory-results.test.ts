import { createApp, NotConnectedError, ResultTimeoutError, type TaskRecord } from '@conveyor/core'
import { createMemoryResultBackend } from '@conveyor/core/adapter'
import { describe, expect, it } from 'vitest'
import { sleep } from './helpers'

const record = (id: string, state: TaskRecord['state'], extra: Partial<TaskRecord> = {}): TaskRecord => ({
  id,
  task: 't',
  queue: 'q',
  state,
  attempt: 1,
  updatedAt: Date.now(),
  ...extra,
})

describe('memory result backend', () => {
  it('wakes every concurrent waiter on the terminal state, not before', async () => {
    const backend = createMemoryResultBackend()
    const waiters = Array.from({ length: 50 }, () => backend.wait('a', { timeoutMs: 2000 }))
    let settled = 0
    for (const w of waiters) void w.then(() => settled++)
    await backend.set(record('a', 'started'), { ttlMs: 10_000 })
    await backend.set(record('a', 'retrying'), { ttlMs: 10_000 })
    await sleep(20)
    expect(settled).toBe(0)
    await backend.set(record('a', 'succeeded', { result: { ok: true } }), { ttlMs: 10_000 })
    const all = await Promise.all(waiters)
    expect(all.every((r) => r.state === 'succeeded' && (r.result as { ok: boolean }).ok)).toBe(true)
  })

  it('resolves at once when the record is already terminal, and times out with a coded error', async () => {
    const backend = createMemoryResultBackend()
    await backend.set(record('b', 'dead-lettered'), { ttlMs: 10_000 })
    expect((await backend.wait('b', { timeoutMs: 10 })).state).toBe('dead-lettered')
    await expect(backend.wait('nothing', { timeoutMs: 20 })).rejects.toBeInstanceOf(ResultTimeoutError)
  })

  it('forgets records after their time to live', async () => {
    const backend = createMemoryResultBackend()
    await backend.set(record('c', 'succeeded'), { ttlMs: 30 })
    expect(await backend.get('c')).toMatchObject({ state: 'succeeded' })
    await sleep(50)
    expect(await backend.get('c')).toBeUndefined()
  })
})

describe('memory result backend: close', () => {
  it('ends a result() pending at app.close() with NotConnectedError, not at its timeout', async () => {
    const app = createApp({ broker: 'memory://', logger: false })
    const never = app.task('never-run', async () => 'ok') // no worker
    const job = await never.enqueue(null)
    const started = Date.now()
    const waiting = job.result({ timeoutMs: 5_000 }).catch((error: unknown) => error)
    await new Promise((resolve) => setTimeout(resolve, 50))
    await app.close()
    const error = await waiting
    expect(error).toBeInstanceOf(NotConnectedError)
    expect(Date.now() - started).toBeLessThan(2_000)
  })
})
