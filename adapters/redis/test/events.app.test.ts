import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createApp, type StoredEvent } from '@conveyor/core'
import { REDIS_URL, uniquePrefix } from '@conveyor/test-support'
import { describe, expect, it } from 'vitest'
import { createRedisBroker, createRedisResultBackend, eventStreamKey } from '../src/index'
import { redisScratch, until } from './helpers'

const fixture = fileURLToPath(new URL('./fixtures/events-reader.ts', import.meta.url))
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
const JOBS = 10_000
const scratch = redisScratch()
const prefixes = scratch.prefixes

function redisApp(prefix: string, events: Parameters<typeof createApp>[0]['events'] = true) {
  prefixes.push(prefix)
  return createApp({
    broker: createRedisBroker({ url: REDIS_URL, prefix, logger: false }),
    results: createRedisResultBackend({ url: REDIS_URL, prefix, logger: false }),
    logger: false,
    events,
  })
}

describe('redis: events across processes and history', () => {
  it(`a second process sees every event of ${JOBS} jobs in order per run, after being stopped for 5 s`, async () => {
    const prefix = uniquePrefix('events')
    const app = redisApp(prefix)
    const reader = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=conveyor-source', fixture, REDIS_URL, prefix, String(JOBS)],
      {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    )
    let out = ''
    reader.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
    })
    const exited = new Promise<number | null>((resolve) => reader.once('exit', resolve))
    try {
      await until(() => out.includes('ready'), 20_000, 'the reader process to start')
      const echo = app.task('events.echo', async (n: number) => n * 2, { queue: 'events' })
      await app.worker({ queues: ['events'], concurrency: 50 }).start()
      for (let i = 0; i < JOBS; i += 1000) await echo.enqueueMany(Array.from({ length: 1000 }, (_, n) => i + n))
      await until(() => out.includes('seen 3000'), 30_000, 'the reader to see 3,000 events')
      // The reader is stopped (not killed) for 5 s while the app goes on; it must catch up from the stream.
      reader.kill('SIGSTOP')
      await new Promise((resolve) => setTimeout(resolve, 5000))
      reader.kill('SIGCONT')
      expect(await exited).toBe(0)
      const summary = JSON.parse(out.trim().split('\n').at(-1)!)
      expect(summary.runs).toBe(JOBS)
      expect(summary.sequences).toEqual({ 'task.enqueued,task.started,task.succeeded': JOBS })
      expect(app.events.stats()).toMatchObject({ failed: 0, dropped: 0, historyFailed: 0 })
      // History: every run, newest first, from the same event batches.
      await app.events.flush()
      expect(await app.history!.count()).toBe(JOBS)
      const page = await app.history!.list({ state: 'succeeded', limit: 50 })
      expect(page.runs).toHaveLength(50)
      expect(page.next).toBeDefined()
      const detail = await app.history!.get(page.runs[0]!.id)
      expect(detail).toMatchObject({ state: 'succeeded', attempts: [{ attempt: 1, outcome: 'succeeded' }] })
      expect(Number(detail?.result)).toBe(Number(detail?.input) * 2)
    } finally {
      if (reader.exitCode === null) reader.kill('SIGKILL')
      await app.close()
    }
  }, 120_000)

  it('a stream write that fails never fails a task; the stream stays within its length bound', async () => {
    const prefix = uniquePrefix('events-cap')
    const app = redisApp(prefix, { retention: { maxLength: 200 } })
    const echo = app.task('events.echo', async (n: number) => n, { queue: 'events' })
    await app.worker({ queues: ['events'], concurrency: 20 }).start()
    // Something else sits on the stream's key: every XADD fails with WRONGTYPE.
    await scratch.raw.set(eventStreamKey(prefix), 'not a stream')
    let succeeded = 0
    app.events.on('task.succeeded', () => succeeded++)
    for (let n = 0; n < 20; n++) await echo.enqueue(n)
    await until(() => succeeded === 20, 10_000, 'all 20 tasks to succeed while the stream fails')
    await app.events.flush()
    expect(app.events.stats().failed).toBeGreaterThan(0)
    await scratch.raw.del(eventStreamKey(prefix))
    await echo.enqueueMany(Array.from({ length: 1000 }, (_, n) => n))
    await until(async () => (await scratch.raw.xlen(eventStreamKey(prefix))) > 0, 5000, 'events written again')
    await until(async () => (await app.history!.list({ state: 'pending' })).runs.length === 0, 20_000, 'all run')
    await app.events.flush()
    // ~3,000 events were published into a bound of 200 (entries hold batches: the bound is approximate).
    const stored: StoredEvent[] = (await app.events.stream!.read('start', { limit: 5000 })).events as StoredEvent[]
    expect(stored.length).toBeGreaterThan(0)
    expect(stored.length).toBeLessThanOrEqual(600)
    await app.close()
  }, 60_000)
})
