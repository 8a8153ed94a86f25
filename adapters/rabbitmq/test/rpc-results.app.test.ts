import {
  type App,
  createApp,
  declareTask,
  fixed,
  TaskFailedError,
  type TaskRecord,
  UnrecoverableError,
} from '@conveyor/core'
import {
  createRabbitMQResultBackend,
  type RabbitMQLogger,
  type RabbitMQResultBackend,
  type RabbitMQResultBackendOptions,
  REPLY_TO_HEADER,
  rabbitmqAdapter,
} from '@conveyor/rabbitmq'
import { killConnection } from '@conveyor/rabbitmq/testing'
import { AMQP_URL, envelope, eventually, rawChannel, sleep } from '@conveyor/test-support'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, makeBroker, uniquePrefix } from './helpers'

/** A logger keeping its lines, to check what the backend said. */
function captureLogger() {
  const lines: { level: string; msg: string; obj: object }[] = []
  const at =
    (level: string) =>
    (obj: object, msg = '') =>
      lines.push({ level, msg, obj })
  const logger: RabbitMQLogger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
  return { logger, lines }
}

/** Whether a queue exists on the server, read with a raw channel. */
async function queueExists(name: string): Promise<boolean> {
  const raw = await rawChannel()
  try {
    await raw.channel.checkQueue(name)
    return true
  } catch (error) {
    const code = (error as { code?: number }).code
    if (code === 404) return false
    // Exclusive to the connection that declared it: it exists.
    if (code === 405) return true
    throw error
  } finally {
    await raw.close()
  }
}

const add = declareTask<{ a: number; b: number }, number>('rpc.add', { queue: 'jobs' })
const boom = declareTask<null, never>('rpc.boom', { queue: 'jobs' })
const flaky = declareTask<null, string>('rpc.flaky', { queue: 'jobs', retry: { maxAttempts: 3, backoff: fixed(400) } })

describe('RPC results on rabbitmq: producer and worker apps on separate connections', () => {
  let prefix = ''
  const apps: App[] = []
  const backends: RabbitMQResultBackend[] = []
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close({ timeoutMs: 1_000 }).catch(() => {})))
    await Promise.all(backends.splice(0).map((backend) => backend.close().catch(() => {})))
    await cleanup(prefix)
  })

  const rpc = (options: Partial<RabbitMQResultBackendOptions> = {}) => {
    const backend = createRabbitMQResultBackend({ url: AMQP_URL, prefix, logger: false, ...options })
    backends.push(backend)
    return backend
  }
  const producer = (results: RabbitMQResultBackend | false = rpc()) => {
    const app = createApp({ broker: makeBroker(prefix), results, logger: false })
    apps.push(app)
    return app
  }
  /** A worker app implementing the tasks, with its own broker connection and RPC backend. */
  const worker = async (results: RabbitMQResultBackend = rpc(), calls = { flaky: 0, add: 0 }) => {
    const app = createApp({ broker: makeBroker(prefix), results, logger: false })
    apps.push(app)
    app.implement(add, async ({ a, b }) => {
      calls.add++
      return a + b
    })
    app.implement(boom, async () => {
      throw new UnrecoverableError('kaboom')
    })
    app.implement(flaky, async () => {
      calls.flaky++
      if (calls.flaky === 1) throw new Error('first try fails')
      return 'second try'
    })
    await app.worker({ queues: ['jobs'], concurrency: 4 }).start()
    return { app, calls }
  }

  it("returns the handler's value to the producer that enqueued, and rejects a failure with its record", async () => {
    prefix = uniquePrefix('rpc-app')
    const front = producer()
    await worker()
    const job = await front.enqueue(add, { a: 2, b: 40 })
    expect(await job.result({ timeoutMs: 10_000 })).toBe(42)
    expect(await job.record()).toMatchObject({ id: job.id, state: 'succeeded', result: 42 })

    const failing = await front.enqueue(boom, null)
    const error = await failing.result({ timeoutMs: 10_000 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TaskFailedError)
    expect((error as TaskFailedError).record).toMatchObject({
      id: failing.id,
      state: 'dead-lettered',
      error: { message: '[conveyor] kaboom' },
    })
  })

  it('is what results: an amqp:// URL resolves to, with prefix and limits from the query', async () => {
    prefix = uniquePrefix('rpc-url')
    const fromUrls = () => {
      const app = createApp({
        broker: `${AMQP_URL}?prefix=${prefix}`,
        results: `${AMQP_URL}?prefix=${prefix}&maxRecords=5&maxTtlMs=60000`,
        adapters: [rabbitmqAdapter],
        logger: false,
      })
      apps.push(app)
      return app
    }
    const front = fromUrls()
    const back = fromUrls()
    back.implement(add, async ({ a, b }) => a + b)
    await back.worker({ queues: ['jobs'] }).start()
    const jobs = []
    for (let i = 0; i < 8; i++) {
      const job = await front.enqueue(add, { a: i, b: 1 })
      expect(await job.result({ timeoutMs: 10_000 })).toBe(i + 1)
      jobs.push(job)
    }
    const replyQueue = (front.results as RabbitMQResultBackend).replyQueue
    expect(replyQueue.startsWith(`${prefix}.replies.`)).toBe(true)
    // maxRecords=5 reached the backend: of 8 runs' records the 3 stalest are gone.
    const kept = await Promise.all(jobs.map((job) => job.record()))
    expect(kept.map((record) => record?.result)).toEqual([undefined, undefined, undefined, 4, 5, 6, 7, 8])
    expect(() =>
      createApp({ broker: 'memory://', results: `${AMQP_URL}?maxTtlMs=soon`, adapters: [rabbitmqAdapter] }),
    ).toThrow(/maxTtlMs must be a number, got "soon"/)
    await Promise.all(apps.splice(0).map((app) => app.close({ timeoutMs: 1_000 })))
    expect(await queueExists(replyQueue)).toBe(false)
    await cleanup(prefix, [
      `${prefix}.jobs`,
      `${prefix}.jobs.dead`,
      ...['100ms', '500ms', '2s', '10s', '1m', '5m', '30m', '3h'].map((l) => `${prefix}.jobs.delay.${l}`),
    ])
  })

  it('delivers the non-terminal states too: the producer sees retrying, then the result', async () => {
    prefix = uniquePrefix('rpc-retry')
    const front = producer()
    const { calls } = await worker()
    const job = await front.enqueue(flaky, null)
    const seen = new Set<string>()
    await eventually(
      async () => {
        const record = await job.record()
        if (record !== undefined) seen.add(record.state)
        return seen.has('retrying')
      },
      10_000,
      'the retrying state at the producer',
    )
    const retrying = (await job.record()) as TaskRecord
    expect(retrying).toMatchObject({ state: 'retrying', attempt: 1, error: { message: 'first try fails' } })
    expect(retrying.retryAt).toBeGreaterThan(Date.now() - 1_000)
    expect(await job.result({ timeoutMs: 10_000 })).toBe('second try')
    expect(await job.record()).toMatchObject({ state: 'succeeded', attempt: 2 })
    expect(calls.flaky).toBe(2)
  })

  it('gives each producer its own results only; another process (app.job) sees none', async () => {
    prefix = uniquePrefix('rpc-two')
    const left = producer()
    const right = producer()
    const { app: workerApp } = await worker()
    const [l1, r1, l2] = await Promise.all([
      left.enqueue(add, { a: 1, b: 1 }),
      right.enqueue(add, { a: 2, b: 2 }),
      left.enqueue(add, { a: 3, b: 3 }),
    ])
    expect(await Promise.all([l1.result(), r1.result(), l2.result()])).toEqual([2, 4, 6])
    expect(await left.results?.get(r1.id)).toBeUndefined()
    expect(await right.results?.get(l1.id)).toBeUndefined()
    expect(await right.results?.get(l2.id)).toBeUndefined()
    expect(await left.results?.get(l2.id)).toMatchObject({ state: 'succeeded', result: 6 })
    // The worker process holds nothing: its own reply queue received none of these.
    expect(await workerApp.job(l1.id).record()).toBeUndefined()
    await expect(right.job(l1.id).result({ timeoutMs: 300 })).rejects.toMatchObject({ code: 'CONVEYOR_RESULT_TIMEOUT' })
  })

  it('runs tasks that name no reply queue (enqueued without the backend) and says so at debug', async () => {
    prefix = uniquePrefix('rpc-none')
    const { logger, lines } = captureLogger()
    const plainProducer = producer(false)
    const { app: workerApp, calls } = await worker(rpc({ logger }))
    const job = await plainProducer.enqueue(add, { a: 5, b: 5 })
    // Published by hand too, as a producer that is not a Conveyor app would.
    const raw = envelope('jobs', { task: add.name, payload: { a: 1, b: 2 } })
    await workerApp.broker.publish(raw)
    await eventually(() => calls.add === 2, 10_000, 'both runs')
    await eventually(
      () => lines.filter((line) => line.level === 'debug' && line.msg.includes('names no reply queue')).length >= 4,
      5_000,
      'a debug line per record not sent (started and succeeded, twice)',
    )
    expect(lines.filter((line) => line.level === 'warn' || line.level === 'error')).toEqual([])
    await eventually(async () => (await workerApp.broker.stats('jobs')).ready === 0, 5_000, 'queue drained')
    expect((await workerApp.broker.stats('jobs')).dead).toBe(0)
    expect(job.id).toBeTruthy()
  })

  it('does not fail a task whose producer is gone: the reply is dropped, the task succeeds once', async () => {
    prefix = uniquePrefix('rpc-gone')
    const { logger, lines } = captureLogger()
    const front = producer()
    const job = await front.enqueue(add, { a: 20, b: 22 })
    const replyQueue = (front.results as RabbitMQResultBackend).replyQueue
    await front.close()
    expect(await queueExists(replyQueue)).toBe(false)

    const succeeded: string[] = []
    const { app: workerApp, calls } = await worker(rpc({ logger }))
    workerApp.events.on('task.succeeded', (event) => succeeded.push(event.id))
    await eventually(() => succeeded.includes(job.id), 10_000, 'the task to succeed without its producer')
    await sleep(200)
    expect(calls.add).toBe(1)
    const stats = await workerApp.broker.stats('jobs')
    expect(stats).toMatchObject({ ready: 0, inFlight: 0, dead: 0 })
    expect(lines.some((line) => line.level === 'debug' && line.msg.includes('reply queue gone'))).toBe(true)
    expect(lines.filter((line) => line.level === 'error')).toEqual([])
  })

  it('declares the reply queue again under the same name after a reconnect; later results arrive', async () => {
    prefix = uniquePrefix('rpc-reconnect')
    const { logger, lines } = captureLogger()
    const results = rpc({ logger, reconnect: { initialDelayMs: 50, maxDelayMs: 500 } })
    const front = producer(results)
    await worker()
    expect(await (await front.enqueue(add, { a: 1, b: 0 })).result({ timeoutMs: 10_000 })).toBe(1)
    const headers = results.enqueueHeaders()
    expect(killConnection(results)).toBe(true)
    // The server drops the exclusive queue with the dead connection; the backend declares the same name again.
    await eventually(
      () => lines.some((line) => line.msg.includes('reply queue back')),
      15_000,
      'the reply queue to be declared again',
    )
    expect(await queueExists(results.replyQueue)).toBe(true)
    expect(results.enqueueHeaders()).toEqual(headers)
    expect(await (await front.enqueue(add, { a: 2, b: 0 })).result({ timeoutMs: 10_000 })).toBe(2)
  })
})

describe('RPC result backend on its own', () => {
  const backends: RabbitMQResultBackend[] = []
  afterEach(async () => {
    await Promise.all(backends.splice(0).map((backend) => backend.close().catch(() => {})))
  })
  const open = async (options: Partial<RabbitMQResultBackendOptions> = {}) => {
    const backend = createRabbitMQResultBackend({ url: AMQP_URL, prefix: uniquePrefix('rpc-unit'), ...options })
    backends.push(backend)
    await backend.connect()
    return backend
  }
  const record = (id: string, state: TaskRecord['state'] = 'succeeded'): TaskRecord => ({
    id,
    task: 't',
    queue: 'q',
    state,
    attempt: 1,
    updatedAt: Date.now(),
  })

  it('names its reply queue in the enqueue headers, and deletes the queue on close', async () => {
    const backend = await open({ prefix: 'cvt.rpc-names' })
    expect(backend.replyQueue).toMatch(/^cvt\.rpc-names\.replies\.[0-9a-f]{16}$/)
    expect(backend.enqueueHeaders()).toEqual({ [REPLY_TO_HEADER]: backend.replyQueue })
    expect(await queueExists(backend.replyQueue)).toBe(true)
    await backend.close()
    expect(await queueExists(backend.replyQueue)).toBe(false)
    await expect(backend.set(record('x'), { ttlMs: 1_000 })).rejects.toMatchObject({ code: 'CONVEYOR_NOT_CONNECTED' })
  })

  it('keeps at most maxRecords (dropping the stalest) for at most maxTtlMs', async () => {
    const backend = await open({ maxRecords: 3, maxTtlMs: 300 })
    for (const id of ['a', 'b', 'c', 'd']) await backend.set(record(id), { ttlMs: 60_000 })
    await backend.set(record('b'), { ttlMs: 60_000 }) // rewritten: now the freshest
    await backend.set(record('e'), { ttlMs: 60_000 })
    const held = async () => {
      const ids: string[] = []
      for (const id of ['a', 'b', 'c', 'd', 'e']) if ((await backend.get(id)) !== undefined) ids.push(id)
      return ids
    }
    expect(await held()).toEqual(['b', 'd', 'e'])
    await sleep(400)
    expect(await held()).toEqual([])
  })

  it('routes a worker-side set by the envelope it is given, to another instance', async () => {
    const producerSide = await open()
    const workerSide = await open()
    const run = envelope('q', { headers: { tenant: 'acme', ...producerSide.enqueueHeaders() } })
    const waiting = producerSide.wait(run.id, { timeoutMs: 5_000 })
    await workerSide.set({ ...record(run.id), result: { ok: true } }, { ttlMs: 60_000, envelope: run })
    expect(await waiting).toMatchObject({ id: run.id, state: 'succeeded', result: { ok: true } })
    expect(await workerSide.get(run.id)).toBeUndefined()
  })

  it('ignores malformed messages on its reply queue and keeps working', async () => {
    const { logger, lines } = captureLogger()
    const backend = await open({ logger })
    const raw = await rawChannel()
    try {
      raw.channel.sendToQueue(backend.replyQueue, Buffer.from('not json'))
      raw.channel.sendToQueue(backend.replyQueue, Buffer.from(JSON.stringify({ v: 1, ttlMs: 1000, record: { id: 1 } })))
      raw.channel.sendToQueue(backend.replyQueue, Buffer.from('{"__proto__":{"polluted":true},"ttlMs":1}'))
      await eventually(() => lines.filter((line) => line.level === 'warn').length === 3, 5_000, 'three warnings')
    } finally {
      await raw.close()
    }
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined()
    await backend.set(record('fine'), { ttlMs: 1_000 })
    expect(await backend.get('fine')).toMatchObject({ state: 'succeeded' })
  })

  it('rejects waiters when closed instead of leaving them to time out', async () => {
    const backend = await open()
    const waiting = backend.wait('never', { timeoutMs: 60_000 }).catch((error: unknown) => error)
    await backend.close()
    expect(await waiting).toMatchObject({ code: 'CONVEYOR_NOT_CONNECTED' })
  })
})
