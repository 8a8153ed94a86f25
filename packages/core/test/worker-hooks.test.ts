import { createApp, type ExecutionOutcome, TaskTimeoutError } from '@conveyor/core'
import { describe, expect, it, vi } from 'vitest'

describe('worker hooks', () => {
  it('a { fail } verdict fails the attempt without running it, and the retry policy decides', async () => {
    const app = createApp({ broker: 'memory://', logger: false })
    const ran: number[] = []
    const task = app.task('killed.before', (_: null, ctx) => ran.push(ctx.attempt), {
      retry: { maxAttempts: 3, backoff: 1 },
    })
    const outcomes: [ExecutionOutcome, number][] = []
    let processedAtAfterRun = -1
    const worker = app.worker({
      hooks: {
        // As the supervisor does for a task whose process was killed at its hard time limit.
        beforeRun: async (envelope) =>
          envelope.attempt === 1 ? { fail: new TaskTimeoutError(envelope.task, 1000) } : 'run',
        afterRun: (envelope, outcome) => {
          outcomes.push([outcome, envelope.attempt])
          processedAtAfterRun = worker.processed
        },
      },
    })
    await worker.start()
    const job = await task.enqueue(null)
    await job.result({ timeoutMs: 2000 })
    await vi.waitFor(() => expect(outcomes).toHaveLength(2))
    expect(outcomes).toEqual([
      ['retried', 1],
      ['succeeded', 2],
    ])
    expect(ran).toEqual([2])
    // `processed` already counts the delivery when afterRun sees it.
    expect(processedAtAfterRun).toBe(2)
    await app.close()
  })

  it('a revoked verdict acks without running, records revoked and emits task.revoked', async () => {
    const app = createApp({ broker: 'memory://', logger: false })
    const handler = vi.fn()
    const task = app.task('revocable', handler)
    const revoked = vi.fn()
    app.events.on('task.revoked', revoked)
    await app.worker({ hooks: { beforeRun: async () => 'revoked' } }).start()
    const job = await task.enqueue(null)
    await expect(job.result({ timeoutMs: 2000 })).rejects.toMatchObject({ record: { state: 'revoked' } })
    expect(handler).not.toHaveBeenCalled()
    expect(revoked).toHaveBeenCalledWith(expect.objectContaining({ id: job.id, task: 'revocable' }))
    expect(await app.broker.stats('default')).toEqual({ ready: 0, inFlight: 0, delayed: 0, dead: 0 })
    await app.close()
  })

  it('stop({ timeoutMs: 0 }) during a drain stops at once and gives running tasks back', async () => {
    const app = createApp({ broker: 'memory://', logger: false })
    const task = app.task('forever', () => new Promise(() => {}))
    await task.enqueue(null)
    const worker = app.worker()
    await worker.start()
    await vi.waitFor(() => expect(worker.active).toBe(1))
    const t0 = Date.now()
    const graceful = worker.stop({ timeoutMs: 60_000 })
    await worker.stop({ timeoutMs: 0 })
    await graceful
    expect(Date.now() - t0).toBeLessThan(5000)
    expect(await app.broker.stats('default')).toMatchObject({ ready: 1, inFlight: 0, delayed: 0, dead: 0 })
    await app.close()
  })

  it('afterRun hears of a terminated handler that ignores its signal (lingering) and of when it finally returns', async () => {
    const app = createApp({ broker: 'memory://', logger: false })
    let release: () => void = () => undefined
    const task = app.task('oblivious', () => new Promise<void>((resolve) => (release = resolve)))
    const seen: { outcome: ExecutionOutcome; lingering: Promise<void> | undefined }[] = []
    const worker = app.worker({
      hooks: { afterRun: (_, outcome, _ms, lingering) => seen.push({ outcome, lingering }) },
    })
    await worker.start()
    const job = await task.enqueue(null)
    await vi.waitFor(() => expect(worker.active).toBe(1))
    expect(worker.terminate(job.id)).toBe(true)
    await expect(job.result({ timeoutMs: 2000 })).rejects.toMatchObject({ record: { state: 'revoked' } })
    await vi.waitFor(() => expect(seen).toHaveLength(1))
    expect(seen[0]!.outcome).toBe('revoked')
    let ended = false
    void seen[0]!.lingering?.then(() => (ended = true))
    expect(seen[0]!.lingering).toBeInstanceOf(Promise)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(ended).toBe(false)
    release()
    await vi.waitFor(() => expect(ended).toBe(true))
    // A run that simply ends has nothing lingering.
    const quick = app.task('quick', () => 1)
    await (await quick.enqueue(null)).result({ timeoutMs: 2000 })
    await vi.waitFor(() => expect(seen).toHaveLength(2))
    expect(seen[1]).toEqual({ outcome: 'succeeded', lingering: undefined })
    await app.close()
  })
})
