import { type Broker, createApp, InvalidOptionsError, SerializationError } from '@conveyor/core'
import { createMemoryBroker, createMemoryStore, createRouter, encodeEnvelope } from '@conveyor/core/adapter'
import { describe, expect, it, vi } from 'vitest'
import { useMemoryApps } from './helpers'

const newApp = useMemoryApps()

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  )
  expect(outcome).toBeInstanceOf(Error)
  return outcome as Error
}

describe('one validation at enqueue, with a typed error naming the option', () => {
  it.each([
    ['id', { id: '' }, /id must be a non-empty string/],
    ['id', { id: 42 }, /id must be a non-empty string .* got 42/],
    ['headers', { headers: { tenant: 7 } }, /headers\["tenant"\] must be a string, got 7/],
    ['headers', { headers: 'x=1' }, /headers must be an object of strings/],
    ['trace', { trace: { traceparent: null } }, /trace\["traceparent"\] must be a string/],
    ['expiresInMs', { expiresInMs: Number.NaN }, /expiresInMs must be a number of milliseconds > 0, got NaN/],
    ['expiresInMs', { expiresInMs: -1 }, /expiresInMs must be a number of milliseconds > 0, got -1/],
    ['expiresInMs', { expiresInMs: 0 }, /expiresInMs must be .* got 0/],
    ['maxAttempts', { maxAttempts: 0 }, /maxAttempts must be an integer ≥ 1, got 0/],
    ['parentId', { parentId: 5 }, /parentId must be a string/],
  ])('rejects a bad %s (%j) before anything is published', async (_option, options, message) => {
    const app = newApp()
    const error = await rejection(app.enqueue('t', { a: 1 }, options as never))
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect((error as InvalidOptionsError).code).toBe('CONVEYOR_INVALID_OPTIONS')
    expect(error.message).toMatch(message)
    expect(error.message).toMatch(/^\[conveyor\] enqueue\("t"\): /)
    expect(await app.broker.stats('default')).toMatchObject({ ready: 0 })
  })

  it.each([
    ['a function', () => 1, /input is a function/],
    ['a Symbol', Symbol('s'), /input is a symbol/],
    ['a BigInt', 10n, /input is a bigint/],
    ['NaN', Number.NaN, /input is NaN/],
    ['Infinity', Number.POSITIVE_INFINITY, /input is Infinity/],
  ])('rejects %s as input with SerializationError', async (_label, input, message) => {
    const app = newApp()
    const error = await rejection(app.enqueue('t', input))
    expect(error).toBeInstanceOf(SerializationError)
    expect(error.message).toMatch(message)
    expect(await app.broker.stats('default')).toMatchObject({ ready: 0 })
  })

  it('with maxPayloadBytes set, BigInt and cyclic input are a SerializationError, not a raw TypeError', async () => {
    const app = newApp({ maxPayloadBytes: 1024 })
    const cyclic: Record<string, unknown> = {}
    cyclic.me = cyclic
    for (const input of [{ n: 10n }, cyclic]) {
      const error = await rejection(app.enqueue('t', input))
      expect(error).toBeInstanceOf(SerializationError)
      expect(error.message).toMatch(/^\[conveyor\] enqueue\("t"\): input/)
    }
  })

  it('without maxPayloadBytes a nested BigInt is still a SerializationError', async () => {
    const error = await rejection(newApp().enqueue('t', { n: 10n }))
    expect(error).toBeInstanceOf(SerializationError)
  })
})

describe('attempt limits', () => {
  const failing = (broker: Broker, runs: number[]) => {
    const worker = createApp({ broker, logger: false, defaults: { retry: { backoff: 0 } } })
    worker.task(
      'flaky',
      (_input: null, ctx) => {
        runs.push(ctx.attempt)
        expect(ctx.maxAttempts).toBeGreaterThan(0)
        throw new Error('no')
      },
      { retry: { maxAttempts: 5, backoff: 0 } },
    )
    return worker
  }

  it("the worker's settings decide when a producer enqueues by name without knowing the task", async () => {
    const store = createMemoryStore()
    const runs: number[] = []
    const worker = failing(createMemoryBroker({ store }), runs)
    const producer = createApp({ broker: createMemoryBroker({ store }), logger: false })
    try {
      await worker.worker({ queues: ['default'] }).start()
      await producer.enqueue('flaky', null)
      await vi.waitFor(async () => expect(await worker.broker.deadLetters.count('default')).toBe(1))
      expect(runs).toEqual([1, 2, 3, 4, 5])
      const [letter] = await worker.broker.deadLetters.list('default')
      expect(letter).toMatchObject({ reason: 'max-attempts', attempts: 5 })
    } finally {
      await Promise.all([worker.close(), producer.close()])
    }
  })

  it('a limit the producer set for one run wins over the worker settings', async () => {
    const store = createMemoryStore()
    const runs: number[] = []
    const worker = failing(createMemoryBroker({ store }), runs)
    const producer = createApp({ broker: createMemoryBroker({ store }), logger: false })
    try {
      await worker.worker({ queues: ['default'] }).start()
      await producer.enqueue('flaky', null, { maxAttempts: 2 })
      await vi.waitFor(async () => expect(await worker.broker.deadLetters.count('default')).toBe(1))
      expect(runs).toEqual([1, 2])
    } finally {
      await Promise.all([worker.close(), producer.close()])
    }
  })

  it('a raw message past its attempt limit is dead-lettered without running', async () => {
    const app = newApp()
    const runs: number[] = []
    app.task('t', (_input: null, ctx) => runs.push(ctx.attempt), { retry: { maxAttempts: 2 } })
    await app.worker({ queues: ['default'] }).start()
    const base = { id: 'raw-1', task: 't', payload: null, queue: 'default', priority: 0, createdAt: Date.now() }
    await app.broker.publishRaw('default', encodeEnvelope({ ...base, attempt: 5, maxAttempts: 2 }))
    await app.broker.publishRaw('default', encodeEnvelope({ ...base, id: 'raw-2', attempt: 2, maxAttempts: 2 }))
    await vi.waitFor(async () => expect(await app.broker.deadLetters.count('default')).toBe(1))
    await vi.waitFor(() => expect(runs).toEqual([2]))
    const [letter] = await app.broker.deadLetters.list('default')
    expect(letter).toMatchObject({ id: 'raw-1', reason: 'max-attempts', error: { code: 'CONVEYOR_ATTEMPTS_EXCEEDED' } })
  })
})

describe('RegExp routes', () => {
  it.each(['g', 'y', 'gy', 'gi'])('with the %s flag route every name the same way every time', (flags) => {
    const route = createRouter([{ match: new RegExp('^report\\.', flags), queue: 'reports' }])
    const names = ['report.a', 'report.b', 'report.c', 'report.d']
    for (let round = 0; round < 3; round++) {
      for (const name of names) expect(route(name, null)?.queue).toBe('reports')
    }
  })
})
