import { type App, createApp, exponential, type TaskContext, UnrecoverableError } from '@conveyor/core'
import type { BrokerCapabilities, DeadLetter } from '@conveyor/core/adapter'
import { expect } from 'vitest'
import { ConformanceFailure } from '../harness/failure'
import type { Harness } from '../harness/harness'
import { TIMING } from '../harness/harness'
import { eventually, within } from '../harness/wait'

/**
 * Scenarios that drive core's policy (retries, backoff, dead-lettering, poison detection, unknown tasks) through
 * the adapter under test: the same app code users write, on the real broker.
 */

/** Dead letters are readable through a raw inspector or the adapter's own management API. */
export const needsDeadLetterView = (caps: BrokerCapabilities, h: Harness): string | undefined =>
  caps.deadLetterManagement || h.hasRawInspector
    ? undefined
    : 'claims deadLetterManagement: false and gives no inspect hook, so dead letters cannot be read back'

interface Attempt {
  readonly attempt: number
  readonly at: number
  readonly deliveryCount: number
}

/** An app on a harness broker instance: silent, no result backend, queue defaulting to the test's queue. */
function appOn(broker: Awaited<ReturnType<Harness['broker']>>, queue: string, maxDeliveries?: number): App {
  return createApp({
    broker,
    results: false,
    logger: false,
    defaults: { queue, ...(maxDeliveries !== undefined ? { maxDeliveries } : {}) },
  })
}

const record = (attempts: Attempt[], ctx: TaskContext) =>
  attempts.push({ attempt: ctx.attempt, at: Date.now(), deliveryCount: ctx.deliveryCount })

/** Wait for the first `task.dead-lettered` / `task.succeeded` event of `app`. */
function nextEvent(app: App, event: 'task.dead-lettered' | 'task.succeeded'): Promise<void> {
  return new Promise((resolve) => app.events.once(event, () => resolve()))
}

async function readDeadLetters(h: Harness, queue: string, count: number): Promise<DeadLetter[]> {
  const inspector = await h.inspector()
  return eventually(
    () => inspector.deadLetters(queue),
    (dead) => dead.length >= count,
    h.ms(TIMING.prompt),
    `${count} dead letter(s) on ${queue}`,
  )
}

async function expectLiveQueueEmpty(h: Harness, queue: string): Promise<void> {
  const inspector = await h.inspector()
  await eventually(
    () => inspector.ready(queue),
    (n) => n === 0,
    h.ms(TIMING.prompt),
    'ready count of the live queue',
  )
  const check = await h.broker()
  const stats = await eventually(
    () => check.stats(queue),
    (s) => s.ready === 0 && s.inFlight === 0 && s.delayed === 0,
    h.ms(TIMING.prompt),
    'live queue stats (ready, inFlight, delayed)',
  )
  expect(stats).toMatchObject({ ready: 0, inFlight: 0, delayed: 0 })
}

export async function policyAttempts(h: Harness): Promise<void> {
  const queue = h.queue()
  const app = appOn(await h.broker(), queue)
  const attempts: Attempt[] = []
  const retried: number[] = []
  app.events.on('task.retried', (event) => retried.push(event.attempt))
  const task = app.task(
    'conformance.flaky',
    async (_input: null, ctx) => {
      record(attempts, ctx)
      if (ctx.attempt < 3) throw new Error(`attempt ${ctx.attempt} fails`)
      return 'done'
    },
    { retry: { maxAttempts: 5, backoff: 0 } },
  )
  try {
    const succeeded = nextEvent(app, 'task.succeeded')
    await app.worker({ queues: [queue], concurrency: 1 }).start()
    await task.enqueue(null)
    await within(succeeded, h.ms(TIMING.prompt * 4), 'task.succeeded after two failures')
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3])
    expect(retried).toEqual([1, 2])
  } finally {
    await app.close({ timeoutMs: h.ms(TIMING.prompt) })
  }
  await expectLiveQueueEmpty(h, queue)
}

export async function policyBackoff(h: Harness): Promise<void> {
  const queue = h.queue()
  const app = appOn(await h.broker(), queue)
  const baseMs = h.ms(150)
  const attempts: Attempt[] = []
  const delays: number[] = []
  app.events.on('task.retried', (event) => delays.push(event.delayMs))
  const task = app.task(
    'conformance.backoff',
    async (_input: null, ctx) => {
      record(attempts, ctx)
      if (ctx.attempt < 4) throw new Error(`attempt ${ctx.attempt} fails`)
    },
    { retry: { maxAttempts: 4, backoff: exponential({ baseMs, factor: 2, jitter: 'none' }) } },
  )
  try {
    const succeeded = nextEvent(app, 'task.succeeded')
    await app.worker({ queues: [queue], concurrency: 1 }).start()
    await task.enqueue(null)
    await within(succeeded, baseMs * 7 + h.ms(TIMING.window * 3 + TIMING.prompt), 'task.succeeded on attempt 4')
  } finally {
    await app.close({ timeoutMs: h.ms(TIMING.prompt) })
  }
  expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4])
  const expected = [baseMs, baseMs * 2, baseMs * 4]
  expect(delays).toEqual(expected)
  for (let i = 0; i < expected.length; i++) {
    const gap = attempts[i + 1]!.at - attempts[i]!.at
    expect(gap, `gap before attempt ${i + 2}`).toBeGreaterThanOrEqual(expected[i]!)
    expect(gap, `gap before attempt ${i + 2}`).toBeLessThanOrEqual(expected[i]! + h.ms(TIMING.window))
  }
}

export async function exhaustedRetries(h: Harness): Promise<void> {
  const queue = h.queue()
  const app = appOn(await h.broker(), queue)
  const attempts: Attempt[] = []
  const task = app.task(
    'conformance.always-fails',
    async (_input: { keep: string }, ctx) => {
      record(attempts, ctx)
      throw new Error(`boom on attempt ${ctx.attempt}`)
    },
    { retry: { maxAttempts: 3, backoff: 0 } },
  )
  const before = Date.now()
  let id: string
  try {
    const dead = nextEvent(app, 'task.dead-lettered')
    await app.worker({ queues: [queue], concurrency: 1 }).start()
    id = (await task.enqueue({ keep: 'this payload' })).id
    await within(dead, h.ms(TIMING.prompt * 4), 'task.dead-lettered after three failures')
  } finally {
    await app.close({ timeoutMs: h.ms(TIMING.prompt) })
  }
  expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3])
  const [entry, ...rest] = await readDeadLetters(h, queue, 1)
  expect(rest).toEqual([])
  expect(entry).toMatchObject({
    id,
    queue,
    reason: 'max-attempts',
    attempts: 3,
    envelope: { id, task: 'conformance.always-fails', payload: { keep: 'this payload' }, attempt: 3, queue },
    error: { name: 'Error', message: 'boom on attempt 3' },
  })
  expect(entry!.error?.stack).toContain('boom on attempt 3')
  expect(entry!.createdAt).toBe(entry!.envelope!.createdAt)
  expect(entry!.createdAt).toBeGreaterThanOrEqual(before)
  expect(entry!.deadAt).toBeGreaterThanOrEqual(attempts[2]!.at)
  expect(entry!.deadAt).toBeLessThanOrEqual(Date.now())
  await expectLiveQueueEmpty(h, queue)
}

export async function unrecoverable(h: Harness): Promise<void> {
  const queue = h.queue()
  const app = appOn(await h.broker(), queue)
  const attempts: Attempt[] = []
  const task = app.task(
    'conformance.unrecoverable',
    async (_input: null, ctx) => {
      record(attempts, ctx)
      throw new UnrecoverableError('card declined: do not retry')
    },
    { retry: { maxAttempts: 5, backoff: 0 } },
  )
  try {
    const dead = nextEvent(app, 'task.dead-lettered')
    await app.worker({ queues: [queue], concurrency: 1 }).start()
    await task.enqueue(null)
    await within(dead, h.ms(TIMING.prompt * 2), 'task.dead-lettered after an UnrecoverableError')
  } finally {
    await app.close({ timeoutMs: h.ms(TIMING.prompt) })
  }
  expect(attempts.map((a) => a.attempt)).toEqual([1])
  const [entry, ...rest] = await readDeadLetters(h, queue, 1)
  expect(rest).toEqual([])
  expect(entry).toMatchObject({ reason: 'unrecoverable', attempts: 1, envelope: { attempt: 1 } })
  expect(entry!.error?.message).toContain('card declined: do not retry')
  expect(entry!.error?.stack).toBeTypeOf('string')
  await expectLiveQueueEmpty(h, queue)
}

/**
 * A message whose handler never finishes because its worker dies each time (the broker is destroyed mid-run):
 * after `maxDeliveries` such deliveries the next worker dead-letters it without running it.
 */
export async function poisonDeadLettered(h: Harness): Promise<void> {
  const queue = h.queue()
  const maxDeliveries = 2
  const calls: Attempt[] = []
  const hung: (() => void)[] = []
  const producer = appOn(await h.broker(), queue, maxDeliveries)
  const name = 'conformance.poison'
  await producer.enqueue(name, { kills: 'its worker' })
  await producer.close()
  try {
    for (let crash = 1; crash <= maxDeliveries; crash++) {
      const broker = await h.broker()
      const app = appOn(broker, queue, maxDeliveries)
      const running = new Promise<void>((resolve) => {
        app.task(name, (_input: unknown, ctx) => {
          record(calls, ctx)
          resolve()
          // Never settles while the "process" lives: it dies first.
          return new Promise<void>((release) => hung.push(release))
        })
      })
      await app.worker({ queues: [queue], concurrency: 1 }).start()
      await within(running, h.ms(TIMING.redelivery), `delivery #${crash} of the poison message`)
      await broker.destroy()
    }
    const broker = await h.broker()
    const app = appOn(broker, queue, maxDeliveries)
    app.task(name, (_input: unknown, ctx) => {
      record(calls, ctx)
      throw new ConformanceFailure(`the poison message ran a ${calls.length}th time (maxDeliveries ${maxDeliveries})`)
    })
    const dead = nextEvent(app, 'task.dead-lettered')
    try {
      await app.worker({ queues: [queue], concurrency: 1 }).start()
      await within(dead, h.ms(TIMING.redelivery), 'task.dead-lettered as poison')
    } finally {
      await app.close({ timeoutMs: h.ms(TIMING.prompt) })
    }
  } finally {
    for (const release of hung) release()
  }
  expect(calls.map((c) => c.deliveryCount)).toEqual([1, 2])
  const [entry] = await readDeadLetters(h, queue, 1)
  expect(entry).toMatchObject({ reason: 'max-deliveries', deliveryCount: maxDeliveries + 1, attempts: 1 })
  await expectLiveQueueEmpty(h, queue)
}

/** An envelope naming a task nobody implements is dead-lettered `unknown-task`; the worker keeps going. */
export async function unknownTask(h: Harness): Promise<void> {
  const queue = h.queue()
  const broker = await h.broker()
  const app = appOn(broker, queue)
  const ran: string[] = []
  const known = app.task('conformance.known', async (input: string) => {
    ran.push(input)
  })
  const stranger = h.envelope(queue, { task: 'conformance.nobody-implements-this' })
  try {
    const dead = nextEvent(app, 'task.dead-lettered')
    await app.worker({ queues: [queue], concurrency: 1 }).start()
    await broker.publish(stranger)
    await within(dead, h.ms(TIMING.prompt), 'task.dead-lettered for the unknown task')
    const succeeded = nextEvent(app, 'task.succeeded')
    await known.enqueue('after the stranger')
    await within(succeeded, h.ms(TIMING.prompt), 'a known task after the unknown one')
  } finally {
    await app.close({ timeoutMs: h.ms(TIMING.prompt) })
  }
  expect(ran).toEqual(['after the stranger'])
  const [entry, ...rest] = await readDeadLetters(h, queue, 1)
  expect(rest).toEqual([])
  expect(entry).toMatchObject({ id: stranger.id, reason: 'unknown-task', envelope: stranger })
  expect(entry!.error?.message).toContain('conformance.nobody-implements-this')
}
