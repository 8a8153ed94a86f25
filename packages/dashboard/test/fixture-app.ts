import { type App, type CoordinationStore, createApp, fixed, startHeartbeat, type Worker } from '@conveyor/core'

/** What the browser tests enqueue: each kind of outcome the pages must show. */
export const XSS = '<img src=x onerror=alert(1)>'

export interface FixtureApp {
  readonly app: App
  readonly worker: Worker
  readonly queue: string
  /** While false, `demo.flaky-until-fixed` fails every attempt (and dead-letters); set true to let a replay succeed. */
  fixed: boolean
  close(): Promise<void>
}

/**
 * An app with tasks that succeed, retry then succeed, fail for good (no dead letter), dead-letter, and dead-letter
 * with an HTML payload in their error; a worker consuming them, beating to `coordination` when given.
 */
export async function fixtureApp(options: {
  broker: App['broker']
  results?: App['results']
  coordination?: CoordinationStore
  queue: string
}): Promise<FixtureApp> {
  const app = createApp({
    broker: options.broker,
    ...(options.results ? { results: options.results } : {}),
    logger: false,
    events: true, // the workers' events feed the task pages (off by default)
  })
  const queue = options.queue
  const state = { fixed: false }
  const retry = { maxAttempts: 2, backoff: fixed(50) }
  app.task('demo.ok', async (input: { n: number }) => ({ doubled: input.n * 2 }), { queue })
  app.task(
    'demo.slow',
    async (input: { n: number }) => {
      await new Promise((resolve) => setTimeout(resolve, 25))
      return input.n
    },
    { queue },
  )
  let flaky = 0
  app.task(
    'demo.retry-once',
    async () => {
      if (flaky++ % 2 === 0) throw new Error('first attempt fails, the retry works')
      return 'ok'
    },
    { queue, retry },
  )
  app.task(
    'demo.fail',
    async () => {
      throw new Error('payment declined')
    },
    { queue, retry: { ...retry, deadLetter: false } },
  )
  app.task(
    'demo.flaky-until-fixed',
    async () => {
      if (!state.fixed) throw new Error('upstream unavailable')
      return 'fixed'
    },
    { queue, retry },
  )
  app.task(
    'demo.xss',
    async (input: { html: string }) => {
      throw new Error(input.html)
    },
    { queue, retry: { maxAttempts: 1 } },
  )
  const worker = app.worker({ queues: [queue], concurrency: 4 })
  await worker.start()
  const heartbeat = options.coordination ? startHeartbeat(options.coordination, worker, { intervalMs: 500 }) : undefined
  return {
    app,
    worker,
    queue,
    get fixed() {
      return state.fixed
    },
    set fixed(value: boolean) {
      state.fixed = value
    },
    async close() {
      await heartbeat?.stop()
      await app.close({ timeoutMs: 1000 })
    },
  }
}

/** One run of each kind. Resolves with their ids by kind. */
export async function enqueueEveryOutcome(app: App) {
  const ok = await app.enqueue('demo.ok', { n: 21 })
  const retried = await app.enqueue('demo.retry-once', null)
  const failed = await app.enqueue('demo.fail', null)
  const dead = await app.enqueue('demo.flaky-until-fixed', null)
  const xss = await app.enqueue('demo.xss', { html: XSS })
  return { ok: ok.id, retried: retried.id, failed: failed.id, dead: dead.id, xss: xss.id }
}
