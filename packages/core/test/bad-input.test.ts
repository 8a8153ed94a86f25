import {
  createApp,
  InvalidOptionsError,
  PayloadTooLargeError,
  type StandardSchemaV1,
  ValidationError,
} from '@conveyor/core'
import { createMemoryBroker } from '@conveyor/core/adapter'
import { describe, expect, it, vi } from 'vitest'
import { useMemoryApps } from './helpers'

const newApp = useMemoryApps()

/** A hand-written Standard Schema validator, as zod or valibot would provide. */
const positiveInt: StandardSchemaV1<unknown, { n: number }> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate(value) {
      const n = (value as { n?: unknown } | null)?.n
      if (typeof n === 'string' && /^\d+$/.test(n)) return { value: { n: Number(n) } }
      if (typeof n === 'number' && Number.isInteger(n) && n > 0) return { value: { n } }
      return { issues: [{ message: 'must be a positive integer', path: ['n'] }] }
    },
  },
}

describe('bad input gets a clear error or a dead letter, and the worker keeps running', () => {
  it('dead-letters malformed bytes and unknown task names with a reason, then keeps processing', async () => {
    const app = newApp()
    const done: string[] = []
    const ok = app.task('ok', (input: { i: number }) => {
      done.push(`ok-${input.i}`)
    })
    await app.worker({ queues: ['default'] }).start()
    await app.broker.publishRaw('default', '{not json at all')
    await app.broker.publishRaw('default', JSON.stringify({ id: 'x', task: 'ok', queue: 'default' }))
    const stranger = await app.enqueue('nobody.implements.this', { hello: 'world' })
    await ok.enqueue({ i: 1 })
    await ok.enqueue({ i: 2 })
    await vi.waitFor(() => expect(done).toEqual(['ok-1', 'ok-2']))
    await vi.waitFor(async () => expect(await app.broker.deadLetters.count('default')).toBe(3))
    const letters = await app.broker.deadLetters.list('default')
    expect(letters.map((l) => l.reason).sort()).toEqual(['malformed', 'malformed', 'unknown-task'])
    const unknown = letters.find((l) => l.reason === 'unknown-task')!
    expect(unknown.envelope).toMatchObject({
      id: stranger.id,
      task: 'nobody.implements.this',
      payload: { hello: 'world' },
    })
    expect(unknown.error?.message).toMatch(/no task named "nobody.implements.this"/)
    const garbage = letters.find((l) => l.raw === '{not json at all')!
    expect(garbage.error).toMatchObject({ code: 'CONVEYOR_MALFORMED_MESSAGE' })
    expect(letters.find((l) => l.reason === 'malformed' && l !== garbage)?.error?.message).toMatch(/field "payload"/)
    expect(await app.broker.stats('default')).toEqual({ ready: 0, inFlight: 0, delayed: 0, dead: 3 })
    // Malformed entries stay for a human; replay only takes the one that has an envelope (still unknown here).
    expect(await app.broker.deadLetters.replay('default')).toBe(1)
    await vi.waitFor(async () => expect(await app.broker.deadLetters.count('default')).toBe(3))
    const again = await app.broker.deadLetters.list('default')
    expect(again.filter((l) => l.reason === 'malformed')).toHaveLength(2)
    expect(again.find((l) => l.reason === 'unknown-task')?.envelope?.attempt).toBe(1)
  })

  it('validates input with any Standard Schema validator on enqueue, and uses its output', async () => {
    const app = newApp()
    const seen: unknown[] = []
    const task = app.task('typed', (input: { n: number }) => seen.push(input), { schema: positiveInt })
    await app.worker().start()
    const error = await task.enqueue({ n: -1 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as ValidationError).code).toBe('CONVEYOR_INVALID_INPUT')
    expect((error as Error).message).toMatch(/input of task "typed" is invalid: n: must be a positive integer/)
    expect(await app.broker.stats('default')).toMatchObject({ ready: 0 })
    await task.enqueue({ n: '42' as unknown as number })
    await vi.waitFor(() => expect(seen).toEqual([{ n: 42 }]))
  })

  it('dead-letters a message whose input fails the schema in the worker (another producer sent it)', async () => {
    const app = newApp()
    app.task('typed', () => null, { schema: positiveInt })
    await app.worker().start()
    const job = await app.enqueue('untyped.sender', null, { queue: 'default' })
    // Re-publish under the typed name, as a producer without the schema would.
    await app.broker.publish({
      id: 'raw-1',
      task: 'typed',
      payload: { n: 'x' },
      queue: 'default',
      priority: 0,
      attempt: 1,
      maxAttempts: 1,
      createdAt: Date.now(),
    })
    await vi.waitFor(async () => expect(await app.broker.deadLetters.count('default')).toBe(2))
    const letters = await app.broker.deadLetters.list('default')
    expect(letters.find((l) => l.id === 'raw-1')).toMatchObject({
      reason: 'invalid-input',
      error: { code: 'CONVEYOR_INVALID_INPUT' },
    })
    expect(letters.find((l) => l.id === job.id)?.reason).toBe('unknown-task')
  })

  it('rejects oversize payloads before they reach the queue', async () => {
    const app = newApp({ broker: createMemoryBroker({ maxMessageBytes: 2048 }), maxPayloadBytes: 1024 })
    const task = app.task('big', () => null)
    const appLimit = await task.enqueue({ blob: 'x'.repeat(1500) }).catch((e: unknown) => e)
    expect(appLimit).toBeInstanceOf(PayloadTooLargeError)
    expect((appLimit as PayloadTooLargeError).message).toMatch(/maxPayloadBytes of 1024.*pass a reference/)
    const brokerLimit = await app.broker
      .publish({
        id: 'b',
        task: 'big',
        payload: 'y'.repeat(4096),
        queue: 'default',
        priority: 0,
        attempt: 1,
        maxAttempts: 1,
        createdAt: 0,
      })
      .catch((e: unknown) => e)
    expect(brokerLimit).toMatchObject({ code: 'CONVEYOR_PAYLOAD_TOO_LARGE' })
    expect(await app.broker.stats('default')).toMatchObject({ ready: 0, delayed: 0 })
  })

  it('rejects wrong options with InvalidOptionsError naming the option', async () => {
    const app = newApp()
    const task = app.task('t', () => null)
    await expect(task.enqueue(null, { priority: 10 })).rejects.toThrow(/priority must be an integer 0–9/)
    await expect(task.enqueue(null, { delayMs: -5 })).rejects.toThrow(/delayMs/)
    await expect(task.enqueue(null, { queue: 'bad queue!' })).rejects.toThrow(InvalidOptionsError)
    await expect(task.enqueue(undefined as unknown as null)).rejects.toMatchObject({ code: 'CONVEYOR_SERIALIZATION' })
    expect(() => app.task('bad', () => null, { retry: { maxAttempts: 0 } })).toThrow(/maxAttempts/)
    expect(() => app.task('t', () => 1)).toThrow(/already implemented/)
    expect(() => app.worker({ concurrency: 0 })).toThrow(/concurrency/)
    expect(() => createApp({ broker: 'redis://localhost', logger: false })).toThrow(/redisAdapter/)
    expect(() => createApp({ broker: 'nonsense', logger: false })).toThrow(/not a URL/)
  })

  it('says so when results are asked of an app without a result backend', async () => {
    const app = newApp({ results: false })
    const task = app.task('t', () => 1)
    const job = await task.enqueue(null)
    await expect(job.result()).rejects.toMatchObject({ code: 'CONVEYOR_NO_RESULT_BACKEND' })
  })
})
