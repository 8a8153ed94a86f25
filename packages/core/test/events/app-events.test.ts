import { type ConveyorEvent, createApp, fixed, type StoredEvent } from '@conveyor/core'
import { createMemoryBroker, createMemoryStore, type EventStream } from '@conveyor/core/adapter'
import { describe, expect, it } from 'vitest'
import { captureLogger, sleep, useMemoryApps } from '../helpers'

const newApp = useMemoryApps()

/** Collect stream events until `done` says so (the test's timeout bounds it). */
async function collect(
  iterable: AsyncIterable<StoredEvent>,
  done: (events: ConveyorEvent[]) => boolean,
): Promise<ConveyorEvent[]> {
  const events: ConveyorEvent[] = []
  for await (const stored of iterable) {
    events.push(stored.event)
    if (done(events)) break
  }
  return events
}

async function collectStored(iterable: AsyncIterable<StoredEvent>, count: number): Promise<StoredEvent[]> {
  const out: StoredEvent[] = []
  for await (const stored of iterable) {
    out.push(stored)
    if (out.length >= count) break
  }
  return out
}

describe('app.events: the cross-process stream', () => {
  it('another app on the same store reads every event of each run, in order, with worker id and error', async () => {
    const store = createMemoryStore()
    const producer = newApp({ broker: createMemoryBroker({ store }), events: true })
    const worker = newApp({ broker: createMemoryBroker({ store }), events: true })
    const reader = newApp({ broker: createMemoryBroker({ store }), events: false })
    const handler = async (input: { fail: boolean }, ctx: { attempt: number }) => {
      if (input.fail && ctx.attempt < 2) throw new Error('first attempt fails')
      return { ok: true }
    }
    const flaky = producer.task('events.flaky', handler, { retry: { maxAttempts: 3, backoff: fixed(1) } })
    worker.task('events.flaky', handler, { retry: { maxAttempts: 3, backoff: fixed(1) } })
    const reading = collect(
      reader.events.subscribe({ from: 'start', types: ['task.*'] }),
      (events) => events.filter((e) => e.type === 'task.succeeded').length === 2,
    )
    await worker.worker({ queues: ['default'], concurrency: 4 }).start()
    const ok = await flaky.enqueue({ fail: false })
    const retried = await flaky.enqueue({ fail: true })
    const events = await reading
    const typesOf = (id: string) => events.filter((e) => 'id' in e && e.id === id).map((e) => e.type)
    expect(typesOf(ok.id)).toEqual(['task.enqueued', 'task.started', 'task.succeeded'])
    expect(typesOf(retried.id)).toEqual([
      'task.enqueued',
      'task.started',
      'task.retried',
      'task.started',
      'task.succeeded',
    ])
    const failure = events.find((e) => e.type === 'task.retried')
    expect(failure).toMatchObject({ id: retried.id, attempt: 1, error: { message: 'first attempt fails' } })
    expect(failure && 'worker' in failure ? failure.worker : '').toMatch(/^.+:\d+:\d+$/)
    expect(events.find((e) => e.type === 'task.enqueued')).toMatchObject({ input: '{"fail":false}' })
    expect(events.find((e) => e.type === 'task.succeeded')).toMatchObject({ result: '{"ok":true}' })
  })

  it('a reader resumes after its last offset and misses nothing published meanwhile', async () => {
    const app = newApp({ events: true })
    const echo = app.task('events.echo', async (n: number) => n)
    const first = await echo.enqueue(1)
    const [stored] = await collectStored(app.events.subscribe({ from: 'start' }), 1)
    expect(stored?.event).toMatchObject({ type: 'task.enqueued', id: first.id })
    // The reader is away: a worker starts and more runs happen.
    await app.worker({ concurrency: 2 }).start()
    for (let n = 2; n <= 5; n++) await echo.enqueue(n)
    const rest = await collect(
      app.events.subscribe({ from: { after: stored!.offset }, types: ['task.*'] }),
      (events) => events.filter((e) => e.type === 'task.succeeded').length === 5,
    )
    expect(rest.filter((e) => e.type === 'task.enqueued')).toHaveLength(4)
    expect(rest.filter((e) => e.type === 'task.succeeded')).toHaveLength(5)
    expect(rest[0]?.type).toBe('task.started') // the event right after the first enqueue
  })

  it('history lists a pending run from the enqueue event, then its outcome, newest first with a cursor', async () => {
    const app = newApp({ events: true })
    const work = app.task(
      'history.work',
      async (input: { n: number }) => {
        if (input.n === 3) throw new Error('three is bad')
        return input.n
      },
      { retry: { maxAttempts: 1 } },
    )
    const jobs = []
    for (let n = 1; n <= 4; n++) {
      jobs.push(await work.enqueue({ n }))
      await sleep(2) // distinct enqueue times: runs of the same millisecond are ordered by id
    }
    await app.events.flush()
    const pending = await app.history!.list({ state: 'pending' })
    expect(pending.runs.map((r) => r.id)).toEqual(jobs.map((j) => j.id).reverse())
    await app.worker({ concurrency: 1 }).start()
    await Promise.allSettled(jobs.map((j) => j.result({ timeoutMs: 2000 })))
    await app.events.flush()
    const firstPage = await app.history!.list({ limit: 2 })
    expect(firstPage.runs.map((r) => r.id)).toEqual([jobs[3]!.id, jobs[2]!.id])
    const second = await app.history!.list({ limit: 2, cursor: firstPage.next! })
    expect(second.runs.map((r) => r.id)).toEqual([jobs[1]!.id, jobs[0]!.id])
    expect(second.next).toBeUndefined()
    expect((await app.history!.list({ state: 'dead-lettered' })).runs.map((r) => r.id)).toEqual([jobs[2]!.id])
    const detail = await app.history!.get(jobs[2]!.id)
    expect(detail).toMatchObject({
      state: 'dead-lettered',
      input: '{"n":3}',
      error: { message: 'three is bad' },
      attempts: [{ attempt: 1, outcome: 'dead-lettered', deliveryCount: 1 }],
    })
    expect(detail?.error?.stack).toContain('three is bad')
    expect(detail?.timeline.map((t) => t.type)).toEqual(['task.enqueued', 'task.started', 'task.dead-lettered'])
    expect(detail?.waitMs).toBeGreaterThanOrEqual(0)
    expect((await app.history!.list({ search: jobs[1]!.id.slice(2, 12) })).runs).toHaveLength(1)
    expect((await app.history!.list({ search: '"n":4' })).runs.map((r) => r.id)).toEqual([jobs[3]!.id])
  })

  it('a failing stream never fails or blocks a task: the failure is counted and logged once', async () => {
    const { logger, lines } = captureLogger()
    const broken: EventStream = {
      name: 'broken',
      retention: {},
      connect: async () => undefined,
      close: async () => undefined,
      publish: async () => {
        throw new Error('stream is down')
      },
      read: async () => ({ events: [], cursor: '0' }),
    }
    const app = createApp({ broker: 'memory://', logger, events: { stream: broken, history: false } })
    try {
      const echo = app.task('events.echo', async (n: number) => n)
      await app.worker({ concurrency: 4 }).start()
      const results = await Promise.all(
        Array.from({ length: 20 }, async (_, n) => (await echo.enqueue(n)).result({ timeoutMs: 2000 })),
      )
      expect(results).toHaveLength(20)
      await app.events.flush()
      expect(app.events.stats().failed).toBeGreaterThanOrEqual(40)
      expect(lines.filter((l) => String(l.msg).startsWith('could not write events'))).toHaveLength(1)
    } finally {
      await app.close()
    }
  })

  it.each([
    ['without events (the default)', {}],
    ['with events: false', { events: false as const }],
  ])('%s an app publishes nothing and keeps the zero-cost local emitter', async (_label, options) => {
    const app = newApp(options)
    expect(app.events.publishing).toBe(false)
    expect(app.events.wants('task.started')).toBe(false)
    const seen: string[] = []
    app.events.on('task.succeeded', (e) => seen.push(e.id))
    const echo = app.task('events.echo', async (n: number) => n)
    await app.worker().start()
    const job = await echo.enqueue(1)
    await job.result()
    await sleep(20)
    expect(seen).toEqual([job.id])
    expect(app.events.stats().published).toBe(0)
    expect((await app.events.stream!.read('start')).events).toHaveLength(0)
  })

  it('setPublishing turns publishing on for an app made without events, and off for one made with them', async () => {
    const off = newApp({})
    off.events.setPublishing(true)
    expect(off.events.publishing).toBe(true)
    const echo = off.task('events.echo', async (n: number) => n)
    const reading = collect(off.events.subscribe({ from: 'start' }), (events) =>
      events.some((e) => e.type === 'task.succeeded'),
    )
    await off.worker().start()
    await echo.enqueue(1)
    const types = (await reading).map((e) => e.type)
    expect(types).toEqual(['worker.online', 'task.enqueued', 'task.started', 'task.succeeded'])

    const on = newApp({ events: true })
    on.events.setPublishing(false)
    expect(on.events.publishing).toBe(false)
    expect(on.events.wants('task.started')).toBe(false)
    const quiet = on.task('events.quiet', async (n: number) => n)
    await on.worker().start()
    await (await quiet.enqueue(2)).result()
    await on.events.flush()
    expect((await on.events.stream!.read('start')).events).toHaveLength(0)
  })

  it('emits worker.online and worker.offline', async () => {
    const app = newApp({ events: true })
    const worker = app.worker({ queues: ['default'], concurrency: 3 })
    await worker.start()
    await worker.stop()
    await app.events.flush()
    const page = await app.events.stream!.read('start')
    expect(page.events.map((e) => e.event)).toMatchObject([
      { type: 'worker.online', worker: worker.id, queues: ['default'], concurrency: 3, pid: process.pid },
      { type: 'worker.offline', worker: worker.id, processed: 0 },
    ])
  })
})
