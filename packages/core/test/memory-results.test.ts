import { createApp, NotConnectedError, ResultTimeoutError, type TaskRecord, UnrecoverableError } from '@conveyor/core'
import { createMemoryResultBackend, replayDeadLetters } from '@conveyor/core/adapter'
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

describe('result() of a run that reuses an id', () => {
  it('waits for the new run, not the previous run of that id (an enqueue reusing it, a dead-letter replay)', async () => {
    const results = createMemoryResultBackend()
    const app = createApp({ broker: 'memory://', results, logger: false })
    let failing = true
    const render = app.task('report.render', async (month: string) => {
      await sleep(100)
      if (failing) throw new UnrecoverableError('renderer down')
      return `report for ${month}`
    })
    await app.worker({ concurrency: 1 }).start()
    try {
      failing = false
      const first = await render.enqueue('January (draft)', { id: 'report-2026-01' })
      expect(await first.result()).toBe('report for January (draft)')
      // The worker (concurrency 1) is busy with another run, so the new one waits in the queue.
      await render.enqueue('busy')
      const again = await render.enqueue('January (final)', { id: 'report-2026-01' })
      // It answered at once with the draft's result, before the new run started.
      expect(await again.result()).toBe('report for January (final)')

      failing = true
      const doomed = await render.enqueue('February')
      await expect(doomed.result()).rejects.toMatchObject({ record: { state: 'dead-lettered' } })
      failing = false
      const dead = await app.broker.deadLetters.list('default')
      await render.enqueue('busy again')
      expect(await replayDeadLetters({ app, queue: 'default', deadLetters: dead })).toBe(1)
      // It rejected at once with the dead-lettered record, while the replayed run went on to succeed.
      expect(await app.job(doomed.id).result()).toBe('report for February')
    } finally {
      await app.close()
    }
  })
})
