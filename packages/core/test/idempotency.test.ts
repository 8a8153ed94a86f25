import {
  type App,
  type Broker,
  type CoordinationStore,
  createApp,
  declareTask,
  InvalidOptionsError,
} from '@conveyor/core'
import { createMemoryBroker, createMemoryCoordination } from '@conveyor/core/adapter'
import { describe, expect, it } from 'vitest'
import { captureLogger, useMemoryApps } from './helpers'

const newApp = useMemoryApps()

function fakeClock(start = 1_000_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

/** The real memory broker, whose next `failures` publishes (single or batch) are refused as a broker outage would. */
function failingBroker(failures: number): Broker {
  const broker = createMemoryBroker()
  let left = failures
  const refuse = () => {
    if (left <= 0) return false
    left--
    return true
  }
  return new Proxy(broker, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver)
      if (property === 'publish' || property === 'publishMany') {
        return (...args: unknown[]) =>
          refuse()
            ? Promise.reject(new Error('broker outage'))
            : (value as (...a: unknown[]) => Promise<void>).apply(target, args)
      }
      return value
    },
  })
}

const ready = async (app: App, queue = 'default') => (await app.broker.stats(queue)).ready

describe('idempotency keys', () => {
  it('a repeated key publishes nothing and hands back the first job, whose result it follows', async () => {
    const app = newApp()
    const runs: number[] = []
    const charge = app.task('order.charge', (input: { cents: number }) => {
      runs.push(input.cents)
      return { charged: input.cents }
    })
    const announced: string[] = []
    app.events.on('task.enqueued', (e) => announced.push(e.id))

    const first = await charge.enqueue({ cents: 500 }, { idempotencyKey: 'order-42' })
    const again = await charge.enqueue({ cents: 500 }, { idempotencyKey: 'order-42' })
    const byName = await app.enqueue('order.charge', { cents: 999 }, { idempotencyKey: 'order-42' })
    expect(first.duplicate).toBe(false)
    expect(again).toMatchObject({ id: first.id, duplicate: true, task: 'order.charge', queue: 'default' })
    expect(byName).toMatchObject({ id: first.id, duplicate: true })
    expect(await ready(app)).toBe(1)
    expect(announced).toEqual([first.id])

    const worker = app.worker()
    await worker.start()
    expect(await again.result({ timeoutMs: 2000 })).toEqual({ charged: 500 })
    expect(await first.result({ timeoutMs: 2000 })).toEqual({ charged: 500 })
    expect(runs).toEqual([500])
  })

  it('keys are per task, and enqueues without a key are never deduplicated', async () => {
    const app = newApp()
    const a = await app.enqueue('mail.send', null, { idempotencyKey: 'k' })
    const b = await app.enqueue('sms.send', null, { idempotencyKey: 'k' })
    // JSON scoping keeps ("a:b", "c") and ("a", "b:c") apart.
    const c = await app.enqueue('x:y', null, { idempotencyKey: 'z' })
    const d = await app.enqueue('x', null, { idempotencyKey: 'y:z' })
    await app.enqueue('mail.send', null)
    await app.enqueue('mail.send', null)
    for (const handle of [a, b, c, d]) expect(handle.duplicate).toBe(false)
    expect(new Set([a.id, b.id, c.id, d.id]).size).toBe(4)
    expect(await ready(app)).toBe(6)
  })

  it('the duplicate follows the first job to the queue it was routed to', async () => {
    const app = newApp()
    const first = await app.enqueue('report.build', null, { idempotencyKey: 'r1', queue: 'reports' })
    const again = await app.enqueue('report.build', null, { idempotencyKey: 'r1', queue: 'elsewhere' })
    expect(again).toMatchObject({ id: first.id, queue: 'reports', duplicate: true })
    expect(await ready(app, 'reports')).toBe(1)
    expect(await ready(app, 'elsewhere')).toBe(0)
  })

  it('many concurrent enqueues with one key publish exactly once', async () => {
    const app = newApp()
    const handles = await Promise.all(
      Array.from({ length: 25 }, () => app.enqueue('pay', null, { idempotencyKey: 'same' })),
    )
    expect(new Set(handles.map((h) => h.id)).size).toBe(1)
    expect(handles.filter((h) => !h.duplicate)).toHaveLength(1)
    expect(await ready(app)).toBe(1)
  })

  it('after the window a new job is published; the window comes from the enqueue, then the task, then the app', async () => {
    const clock = fakeClock()
    const app = newApp({
      coordination: createMemoryCoordination({ now: clock.now }),
      defaults: { idempotencyTtlMs: 1000 },
    })
    const short = declareTask('short.window', { idempotencyTtlMs: 100 })

    const appWide = await app.enqueue('plain', null, { idempotencyKey: 'k' })
    const taskWide = await app.enqueue(short, null, { idempotencyKey: 'k' })
    const perCall = await app.enqueue('plain', null, { idempotencyKey: 'k2', idempotencyTtlMs: 10 })
    clock.advance(50)
    expect((await app.enqueue('plain', null, { idempotencyKey: 'k2' })).id).not.toBe(perCall.id)
    expect((await app.enqueue(short, null, { idempotencyKey: 'k' })).id).toBe(taskWide.id)
    clock.advance(60)
    const shortAgain = await app.enqueue(short, null, { idempotencyKey: 'k' })
    expect(shortAgain).toMatchObject({ duplicate: false })
    expect(shortAgain.id).not.toBe(taskWide.id)
    expect((await app.enqueue('plain', null, { idempotencyKey: 'k' })).id).toBe(appWide.id)
    clock.advance(900)
    expect((await app.enqueue('plain', null, { idempotencyKey: 'k' })).duplicate).toBe(false)
    // appWide, taskWide, perCall, k2 again, shortAgain, the last one.
    expect(await ready(app)).toBe(6)
  })

  it('the default window is a day', async () => {
    const clock = fakeClock()
    const app = newApp({ coordination: createMemoryCoordination({ now: clock.now }) })
    const first = await app.enqueue('t', null, { idempotencyKey: 'k' })
    clock.advance(86_400_000 - 1)
    expect((await app.enqueue('t', null, { idempotencyKey: 'k' })).id).toBe(first.id)
    clock.advance(1)
    expect((await app.enqueue('t', null, { idempotencyKey: 'k' })).id).not.toBe(first.id)
  })

  it('a failed publish releases its key, so the retry publishes', async () => {
    const coordination = createMemoryCoordination()
    const app = newApp({ broker: failingBroker(1), coordination })
    await expect(app.enqueue('pay', { n: 1 }, { idempotencyKey: 'once' })).rejects.toThrow('broker outage')
    expect(await ready(app)).toBe(0)
    const retry = await app.enqueue('pay', { n: 1 }, { idempotencyKey: 'once' })
    expect(retry.duplicate).toBe(false)
    expect(await ready(app)).toBe(1)
    const key = JSON.stringify(['pay', 'once'])
    expect(await coordination.claimIdempotencyKey(key, 'probe', 1000)).toEqual({
      claimed: false,
      holder: JSON.stringify({ id: retry.id, queue: 'default' }),
    })
  })

  it('when the store cannot claim, nothing is published', async () => {
    const store = createMemoryCoordination()
    const down: CoordinationStore = {
      ...store,
      claimIdempotencyKey: () => Promise.reject(new Error('store down')),
    }
    const app = newApp({ coordination: down })
    await expect(app.enqueue('pay', null, { idempotencyKey: 'k' })).rejects.toThrow('store down')
    await expect(app.enqueueMany('pay', [1, 2], { idempotencyKey: (n) => `k${n}` })).rejects.toThrow('store down')
    expect(await ready(app)).toBe(0)
    // Enqueues without a key do not need the store.
    await app.enqueue('pay', null)
    expect(await ready(app)).toBe(1)
  })

  it('enqueueMany honours a key per input, inside the batch and against earlier enqueues', async () => {
    const app = newApp()
    const charge = app.task('order.charge', (input: { order: string }) => input.order)
    const earlier = await charge.enqueue({ order: 'o3' }, { idempotencyKey: 'o3' })
    const orders = ['o1', 'o2', 'o1', 'o3', 'none', 'o2'].map((order) => ({ order }))
    const handles = await charge.enqueueMany(orders, {
      idempotencyKey: (input) => (input.order === 'none' ? undefined : input.order),
    })
    expect(handles.map((h) => h.duplicate)).toEqual([false, false, true, true, false, true])
    expect(handles[2]!.id).toBe(handles[0]!.id)
    expect(handles[5]!.id).toBe(handles[1]!.id)
    expect(handles[3]!.id).toBe(earlier.id)
    // o3 earlier + o1, o2, none from the batch.
    expect(await ready(app)).toBe(4)
    const again = await charge.enqueueMany([{ order: 'o1' }, { order: 'o4' }], { idempotencyKey: (i) => i.order })
    expect(again.map((h) => h.duplicate)).toEqual([true, false])
    expect(again[0]!.id).toBe(handles[0]!.id)
    expect(await ready(app)).toBe(5)
  })

  it('enqueueMany releases the batch keys when publishing fails', async () => {
    const app = newApp({ broker: failingBroker(1) })
    const keyOf = (n: number) => `n${n}`
    await expect(app.enqueueMany('t', [1, 2, 2], { idempotencyKey: keyOf })).rejects.toThrow('broker outage')
    expect(await ready(app)).toBe(0)
    const handles = await app.enqueueMany('t', [1, 2, 2], { idempotencyKey: keyOf })
    expect(handles.map((h) => h.duplicate)).toEqual([false, false, true])
    expect(await ready(app)).toBe(2)
  })

  it('without publishMany, only the keys of the publishes that failed are released', async () => {
    const broker = createMemoryBroker()
    const oneByOne = new Proxy(broker, {
      get(target, property, receiver) {
        if (property === 'publishMany') return undefined
        if (property === 'publish') {
          return (envelope: { payload: unknown }) =>
            envelope.payload === 2 ? Promise.reject(new Error('refused 2')) : target.publish(envelope as never)
        }
        return Reflect.get(target, property, receiver)
      },
    })
    const app = newApp({ broker: oneByOne })
    const keyOf = (n: number) => `n${n}`
    await expect(app.enqueueMany('t', [1, 2, 3], { idempotencyKey: keyOf })).rejects.toThrow('refused 2')
    expect(await ready(app)).toBe(2)
    const [one, three] = await Promise.all([
      app.enqueue('t', 1, { idempotencyKey: 'n1' }),
      app.enqueue('t', 3, { idempotencyKey: 'n3' }),
    ])
    expect([one.duplicate, three.duplicate]).toEqual([true, true])
    // n2 was freed: its key can publish now (here with an input the broker takes).
    expect((await app.enqueue('t', 'two', { idempotencyKey: 'n2' })).duplicate).toBe(false)
  })

  it('a release that fails too is logged, and the caller gets the publish error', async () => {
    const { logger, lines } = captureLogger()
    const store = createMemoryCoordination()
    const flaky: CoordinationStore = {
      ...store,
      releaseIdempotencyKey: () => Promise.reject(new Error('store went away')),
    }
    const app = newApp({ broker: failingBroker(1), coordination: flaky, logger })
    await expect(app.enqueue('pay', null, { idempotencyKey: 'k' })).rejects.toThrow('broker outage')
    const line = lines.find((l) => String(l.msg).includes('could not be released'))
    expect(line).toMatchObject({ level: 50, task: 'pay' })
    expect(typeof line?.id).toBe('string')
  })

  it('bad options fail at once with InvalidOptionsError saying what to pass', async () => {
    const app = newApp()
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ idempotencyKey: '' }, /idempotencyKey must be a non-empty string of at most 255 characters.*got ""/],
      [{ idempotencyKey: 'x'.repeat(256) }, /at most 255 characters.*hash longer keys.*got 256 characters/],
      [{ idempotencyKey: 42 }, /idempotencyKey must be a non-empty string.*got 42/],
      [{ idempotencyKey: 'k', idempotencyTtlMs: 0 }, /idempotencyTtlMs must be a finite number of milliseconds ≥ 1/],
      [{ idempotencyKey: 'k', idempotencyTtlMs: -5 }, /idempotencyTtlMs .* got -5/],
      [{ idempotencyKey: 'k', idempotencyTtlMs: Number.POSITIVE_INFINITY }, /idempotencyTtlMs .* got Infinity/],
      [{ idempotencyTtlMs: Number.NaN }, /idempotencyTtlMs .* got NaN/],
    ]
    for (const [options, message] of cases) {
      const error = await app.enqueue('t', null, options).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(InvalidOptionsError)
      expect((error as Error).message).toMatch(/^\[conveyor\] enqueue\("t"\): /)
      expect((error as Error).message).toMatch(message)
    }
    expect('x'.repeat(255)).toHaveLength(255)
    await expect(app.enqueue('t', null, { idempotencyKey: 'x'.repeat(255) })).resolves.toMatchObject({
      duplicate: false,
    })
    await expect(
      app.enqueueMany('t', [1], { idempotencyKey: 'one-for-all' as unknown as () => string }),
    ).rejects.toThrow(/idempotencyKey must be a function \(input, index\) => key/)
    await expect(app.enqueueMany('t', [1, 2], { idempotencyKey: (n) => (n === 2 ? '' : 'ok') })).rejects.toThrow(
      InvalidOptionsError,
    )
    expect(() => app.task('bad.window', () => null, { idempotencyTtlMs: 0 })).toThrow(
      /task "bad.window": idempotencyTtlMs must be/,
    )
    expect(() => createApp({ broker: 'memory://', logger: false, defaults: { idempotencyTtlMs: -1 } })).toThrow(
      /createApp\(\{ defaults \}\): idempotencyTtlMs must be/,
    )
    // Nothing above was published (the batch with one bad key included), except the one good enqueue.
    expect(await ready(app)).toBe(1)
  })

  it('the app exposes its store; the default is this process only', async () => {
    expect(newApp().coordination.scope).toBe('process')
    const shared = createMemoryCoordination()
    expect(newApp({ coordination: shared }).coordination).toBe(shared)
    expect(newApp().job('some-id').duplicate).toBe(false)
  })
})
