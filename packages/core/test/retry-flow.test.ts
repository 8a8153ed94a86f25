import { createApp, exponential, fixed, type TaskEvents, UnrecoverableError } from '@conveyor/core'
import { createMemoryResultBackend, type DeadLetter, type ResultBackend } from '@conveyor/core/adapter'
import { match, P } from 'ts-pattern'
import { describe, expect, it, vi } from 'vitest'
import { captureLogger, useMemoryApps } from './helpers'

class HttpError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`)
  }
}

const newApp = useMemoryApps()

describe('retry → dead letter', () => {
  it('retries with the policy’s backoff, then dead-letters with the last error, and loses nothing', async () => {
    const app = newApp()
    const attempts: number[] = []
    const flaky = app.task(
      'flaky.always',
      async (_input: { n: number }, ctx) => {
        attempts.push(ctx.attempt)
        throw new Error(`failure on attempt ${ctx.attempt}`)
      },
      { retry: { maxAttempts: 4, backoff: exponential({ baseMs: 20, factor: 2, jitter: 'none' }) } },
    )
    const retried: TaskEvents['task.retried'][] = []
    const dead: TaskEvents['task.dead-lettered'][] = []
    app.events.on('task.retried', (e) => retried.push(e))
    app.events.on('task.dead-lettered', (e) => dead.push(e))
    const before = Date.now()
    const job = await flaky.enqueue({ n: 1 })
    // Enqueued and not picked up yet: pending, without the enqueue having paid for a result write.
    expect(await job.record()).toMatchObject({ id: job.id, state: 'pending', attempt: 1, task: 'flaky.always' })
    expect(await app.results?.get(job.id)).toBeUndefined()
    await app.worker({ concurrency: 2 }).start()
    await expect(job.result({ timeoutMs: 5000 })).rejects.toMatchObject({ code: 'CONVEYOR_TASK_FAILED' })
    expect(attempts).toEqual([1, 2, 3, 4])
    expect(retried.map((e) => e.delayMs)).toEqual([20, 40, 80])
    expect(retried.map((e) => e.attempt)).toEqual([1, 2, 3])
    // Never early: the whole run took at least the sum of the delays.
    expect(Date.now() - before).toBeGreaterThanOrEqual(140)
    expect(dead).toHaveLength(1)
    expect(dead[0]).toMatchObject({ id: job.id, reason: 'max-attempts', attempt: 4 })

    const record = await job.record()
    expect(record).toMatchObject({ state: 'dead-lettered', attempt: 4, error: { message: 'failure on attempt 4' } })

    const letters: DeadLetter[] = await app.broker.deadLetters.list('default')
    expect(letters).toHaveLength(1)
    const letter = letters[0]!
    expect(letter).toMatchObject({
      id: job.id,
      queue: 'default',
      reason: 'max-attempts',
      attempts: 4,
      deliveryCount: 1,
      envelope: { id: job.id, task: 'flaky.always', payload: { n: 1 }, attempt: 4 },
      error: { name: 'Error', message: 'failure on attempt 4' },
    })
    expect(letter.error?.stack).toContain('failure on attempt 4')
    expect(letter.createdAt).toBeGreaterThanOrEqual(before)
    expect(letter.deadAt).toBeGreaterThanOrEqual(letter.createdAt + 140)
    // Nothing left on the live queue, and the one message is accounted for in the dead-letter store.
    expect(await app.broker.stats('default')).toEqual({ ready: 0, inFlight: 0, delayed: 0, dead: 1 })
  })

  it('dead-letters at once on UnrecoverableError, whatever attempts remain', async () => {
    const app = newApp()
    let runs = 0
    const task = app.task(
      'charge',
      () => {
        runs++
        throw new UnrecoverableError('card declined')
      },
      { retry: { maxAttempts: 10, backoff: 1 } },
    )
    await app.worker().start()
    const job = await task.enqueue(null)
    await expect(job.result({ timeoutMs: 2000 })).rejects.toThrow(/dead-lettered.*card declined/)
    expect(runs).toBe(1)
    const [letter] = await app.broker.deadLetters.list('default')
    expect(letter).toMatchObject({ reason: 'unrecoverable', attempts: 1, error: { code: 'CONVEYOR_UNRECOVERABLE' } })
  })

  it('lets the task decide which errors retry, with a ts-pattern match', async () => {
    const app = newApp()
    const seen: number[] = []
    const call = app.task(
      'http.call',
      (input: { status: number }, ctx) => {
        seen.push(ctx.attempt)
        throw new HttpError(input.status)
      },
      {
        retry: {
          maxAttempts: 3,
          backoff: fixed(5),
          retryOn: (error) =>
            match(error)
              .with(P.instanceOf(HttpError), (e) => e.status >= 500)
              .otherwise(() => true),
        },
      },
    )
    await app.worker().start()
    const client = await call.enqueue({ status: 404 })
    await expect(client.result({ timeoutMs: 2000 })).rejects.toThrow(/HTTP 404/)
    expect(seen).toEqual([1])
    seen.length = 0
    const server = await call.enqueue({ status: 503 })
    await expect(server.result({ timeoutMs: 2000 })).rejects.toThrow(/HTTP 503/)
    expect(seen).toEqual([1, 2, 3])
    const reasons = (await app.broker.deadLetters.list('default')).map((d) => [d.envelope?.payload, d.reason])
    expect(reasons).toEqual([
      [{ status: 404 }, 'unrecoverable'],
      [{ status: 503 }, 'max-attempts'],
    ])
  })

  it('records failed and drops the message when the task opts out of dead-lettering', async () => {
    const app = newApp()
    const task = app.task(
      'best.effort',
      () => {
        throw new Error('meh')
      },
      { retry: { maxAttempts: 2, backoff: 1, deadLetter: false } },
    )
    const failed = vi.fn()
    app.events.on('task.failed', failed)
    await app.worker().start()
    const job = await task.enqueue(null)
    await expect(job.result({ timeoutMs: 2000 })).rejects.toMatchObject({ record: { state: 'failed', attempt: 2 } })
    expect(failed).toHaveBeenCalledTimes(1)
    expect(await app.broker.stats('default')).toEqual({ ready: 0, inFlight: 0, delayed: 0, dead: 0 })
  })

  it('replays a dead letter with its attempt counter reset, and it can then succeed', async () => {
    const app = newApp()
    let healthy = false
    const task = app.task(
      'sometimes',
      (input: { v: number }, ctx) => {
        if (!healthy) throw new Error('down')
        return { v: input.v, attempt: ctx.attempt }
      },
      { retry: { maxAttempts: 2, backoff: 1 } },
    )
    await app.worker().start()
    const job = await task.enqueue({ v: 7 })
    await expect(job.result({ timeoutMs: 2000 })).rejects.toThrow(/down/)
    healthy = true
    expect(await app.broker.deadLetters.replay('default')).toBe(1)
    await vi.waitFor(async () => expect((await job.record())?.state).toBe('succeeded'))
    expect((await job.record())?.result).toEqual({ v: 7, attempt: 1 })
    expect(await app.broker.stats('default')).toEqual({ ready: 0, inFlight: 0, delayed: 0, dead: 0 })
  })

  it('fails an attempt that outlives its time limit, aborting its signal', async () => {
    const app = newApp()
    const aborted: unknown[] = []
    const slow = app.task(
      'slow',
      (_: null, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            aborted.push(ctx.signal.reason)
            reject(ctx.signal.reason)
          })
        }),
      { timeoutMs: 30, retry: { maxAttempts: 2, backoff: 1 } },
    )
    await app.worker().start()
    const job = await slow.enqueue(null)
    await expect(job.result({ timeoutMs: 3000 })).rejects.toThrow(/time limit of 30 ms/)
    expect(aborted).toHaveLength(2)
    expect(aborted[0]).toMatchObject({ code: 'CONVEYOR_TASK_TIMEOUT' })
  })

  it('logs every line of a task with its id, name, queue and attempt', async () => {
    const { logger, lines } = captureLogger()
    const app = newApp({ logger })
    const task = app.task(
      'logged',
      (_: null, ctx) => {
        ctx.logger.info('inside the handler')
        if (ctx.attempt === 1) throw new Error('first time fails')
        return 'ok'
      },
      { queue: 'logs', retry: { maxAttempts: 2, backoff: 1 } },
    )
    await app.worker().start()
    const job = await task.enqueue(null)
    await job.result({ timeoutMs: 2000 })
    // The success line is written after the ack, which may land just after the result.
    await vi.waitFor(() => expect(lines.some((l) => l.taskId === job.id && l.msg === 'task succeeded')).toBe(true))
    const taskLines = lines.filter((l) => l.taskId === job.id)
    expect(taskLines.map((l) => [l.msg, l.attempt])).toEqual([
      ['inside the handler', 1],
      ['attempt 1 failed; retrying', 1],
      ['inside the handler', 2],
      ['task succeeded', 2],
    ])
    for (const line of taskLines) expect(line).toMatchObject({ task: 'logged', queue: 'logs' })
  })

  it('records the next attempt’s outcome even when the `retrying` write lands late (written before the retry)', async () => {
    // A result store whose `retrying` writes take 100 ms (a slow network): the retry runs at once on the other slot
    // and succeeds first. `retrying` written after the message went back overwrote `succeeded`, and result() timed out.
    const inner = createMemoryResultBackend()
    const results: ResultBackend = {
      ...inner,
      set: async (record, options) => {
        if (record.state === 'retrying') await new Promise((resolve) => setTimeout(resolve, 100))
        return inner.set(record, options)
      },
    }
    const app = createApp({ broker: 'memory://', results, logger: false })
    let attempts = 0
    const flaky = app.task(
      'flaky',
      () => {
        attempts++
        if (attempts === 1) throw new Error('transient')
        return 'ok'
      },
      { retry: { maxAttempts: 3, backoff: fixed(0) } },
    )
    const worker = app.worker({ concurrency: 2 })
    await worker.start()
    try {
      const job = await flaky.enqueue(null)
      expect(await job.result({ timeoutMs: 2_000 })).toBe('ok')
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect(await job.record()).toMatchObject({ state: 'succeeded', attempt: 2 })
      expect(attempts).toBe(2)
    } finally {
      await app.close()
    }
  })
})
