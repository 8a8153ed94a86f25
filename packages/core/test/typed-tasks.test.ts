import { createApp, declareTask, type JobHandle } from '@conveyor/core'
import { describe, expect, expectTypeOf, it } from 'vitest'

interface Email {
  to: string
  subject: string
}

// A shared module would export this: the producer imports the signature, never the implementation.
const sendEmail = declareTask<Email, { messageId: string }>('email.send', { queue: 'emails' })

describe('typed tasks', () => {
  it('types enqueue by the handler’s input and result() by its return', async () => {
    const app = createApp({ broker: 'memory://', logger: false })
    const resize = app.task('image.resize', async (input: { url: string; width: number }) => ({
      url: `${input.url}?w=${input.width}`,
      bytes: 1024,
    }))
    await app.worker({ queues: ['default'] }).start()
    const job = await resize.enqueue({ url: 'https://x/y.png', width: 64 })
    expectTypeOf(job).toEqualTypeOf<JobHandle<{ url: string; bytes: number }>>()
    const out = await job.result({ timeoutMs: 2000 })
    expect(out).toEqual({ url: 'https://x/y.png?w=64', bytes: 1024 })

    // @ts-expect-error width must be a number
    await resize.enqueue({ url: 'u', width: '64' }).catch(() => undefined)
    // @ts-expect-error url is required
    await resize.enqueue({ width: 64 }).catch(() => undefined)
    // @ts-expect-error the output has no `size`
    expect(out.size).toBeUndefined()
    await app.close()
  })

  it('declares a task in one module and implements it in the worker’s', async () => {
    // The worker process: implements the shared declaration.
    const worker = createApp({ broker: 'memory://', logger: false })
    worker.implement(sendEmail, async (input) => {
      expectTypeOf(input).toEqualTypeOf<Email>()
      return { messageId: `<${input.to}>` }
    })
    // The producer side uses the same app here (one process, memory broker) but only the declaration.
    await worker.worker().start()
    const job = await worker.enqueue(sendEmail, { to: 'a@b.c', subject: 'hi' })
    expect(job.queue).toBe('emails')
    expectTypeOf(job).toEqualTypeOf<JobHandle<{ messageId: string }>>()
    expect(await job.result({ timeoutMs: 2000 })).toEqual({ messageId: '<a@b.c>' })
    // @ts-expect-error subject is missing
    await worker.enqueue(sendEmail, { to: 'a@b.c' }).catch(() => undefined)
    await worker.close()
  })

  it('lets a producer that only has the declaration publish to the declared queue', async () => {
    const producer = createApp({ broker: 'memory://', logger: false })
    const job = await producer.enqueue(sendEmail, { to: 'x@y.z', subject: 's' })
    expect(job.queue).toBe('emails')
    expect(await producer.broker.stats('emails')).toMatchObject({ ready: 1 })
    await producer.close()
  })
})

describe('enqueueMany', () => {
  it('publishes a batch in one call, typed, and every run is processed exactly once', async () => {
    const app = createApp({ broker: 'memory://', logger: false })
    const seen: number[] = []
    const square = app.task('math.square', (input: { n: number }) => {
      seen.push(input.n)
      return input.n * input.n
    })
    const jobs = await square.enqueueMany(
      Array.from({ length: 100 }, (_, n) => ({ n })),
      { priority: 3 },
    )
    expectTypeOf(jobs).toEqualTypeOf<JobHandle<number>[]>()
    expect(new Set(jobs.map((j) => j.id)).size).toBe(100)
    expect(await app.broker.stats('default')).toMatchObject({ ready: 100 })
    await app.worker({ concurrency: 8 }).start()
    const results = await Promise.all(jobs.map((j) => j.result({ timeoutMs: 5000 })))
    expect(results).toEqual(Array.from({ length: 100 }, (_, n) => n * n))
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, n) => n))
    // @ts-expect-error inputs must match the handler
    await square.enqueueMany([{ n: 'x' }]).catch(() => undefined)
    await app.close()
  })

  it('validates every input before publishing any', async () => {
    const app = createApp({ broker: 'memory://', logger: false })
    const task = app.task('t', (input: { n: number }) => input.n)
    await expect(task.enqueueMany([{ n: 1 }, { n: 10n as unknown as number }])).rejects.toMatchObject({
      code: 'CONVEYOR_SERIALIZATION',
    })
    expect(await app.broker.stats('default')).toMatchObject({ ready: 0 })
    await app.close()
  })
})
