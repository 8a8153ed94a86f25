import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { type App, createApp } from '@conveyor/core'
import {
  catalogName,
  createRabbitMQBroker,
  DEFAULT_DELAY_LEVELS,
  eventStreamQueue,
  queueNames,
} from '@conveyor/rabbitmq'
import { createRedisResultBackend } from '@conveyor/redis'
import { deletePrefix, REDIS_URL, rawRedis, until } from '@conveyor/test-support'
import { connect } from 'amqplib'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  conveyor,
  conveyorInProcess,
  killLeftovers,
  RABBIT_APP,
  readEvents,
  type Started,
  sandbox,
  start,
  useBundle,
} from './helpers'

const AMQP_URL = process.env.CONVEYOR_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'
const LEVELS = [50, 200, 1000]

let redis: Redis
const cleanup: (() => Promise<void>)[] = []

/** Delete our own queues (and their dead/delay companions) with a raw connection; fails loudly without RabbitMQ. */
async function deleteQueues(prefix: string, queues: string[], levels: readonly number[]) {
  const model = await connect(AMQP_URL)
  try {
    const channel = await model.createChannel()
    await channel.deleteQueue(catalogName(prefix))
    // The event stream queue the fixture's workers publish to (a no-op when they published nothing).
    await channel.deleteQueue(eventStreamQueue(prefix))
    for (const queue of queues) {
      const n = queueNames(prefix, queue, levels)
      for (const name of [n.work, n.dead, ...n.delays.map((d) => d.name)]) await channel.deleteQueue(name)
    }
  } finally {
    await model.close().catch(() => undefined)
  }
}

beforeAll(async () => {
  redis = await rawRedis()
  await useBundle()
})
afterAll(async () => {
  await killLeftovers()
  for (const fn of cleanup) await fn().catch(() => undefined)
  await redis.quit()
})

async function setup(what: string) {
  const box = sandbox(`rmq-${what}`)
  const app: App = createApp({
    broker: createRabbitMQBroker({ url: AMQP_URL, prefix: box.prefix, delayLevels: LEVELS, logger: false }),
    results: createRedisResultBackend({ url: REDIS_URL, prefix: box.prefix, logger: false }),
    logger: false,
  })
  cleanup.push(async () => {
    await app.close()
    await deleteQueues(box.prefix, ['default'], LEVELS)
    await deletePrefix(redis, box.prefix)
  })
  return { ...box, app }
}

const msg = (text: string) => (line: Record<string, unknown>) => String(line.msg).includes(text)

describe('conveyor on RabbitMQ', { timeout: 120_000 }, () => {
  // One supervisor for the crash and the drain test (process start-up dominates their time).
  describe('one supervisor: crash, then drain', () => {
    let ctx: Awaited<ReturnType<typeof setup>>
    let worker: Started
    beforeAll(async () => {
      ctx = await setup('crash-drain')
      worker = start(
        ['worker', '--app', RABBIT_APP, '--restart-backoff', '100', '-c', '2', '--terminate-grace', '500'],
        ctx.env,
      )
    })

    it('a crashed worker process is replaced and its delivery comes back when the channel closes', async () => {
      const job = await ctx.app.enqueue('work.crash-once', { marker: join(ctx.dir, 'crashed') })
      expect(await job.result({ timeoutMs: 45_000 })).toBe('survived')
      await worker.waitForLog(msg('worker process died'))
      const runs = ctx.journal().filter((e) => e.task === 'work.crash-once')
      expect(runs).toHaveLength(2)
      expect(runs[1]!.pid).not.toBe(runs[0]!.pid)
      expect(runs[1]!.deliveryCount).toBe(2)
    })

    it('hard time limit: the delivery requeued at once on channel close still fails the killed attempt', async () => {
      await until(() => worker.logs().filter(msg('worker ready')).length === 2, 60_000, 'the replacement ready')
      const job = await ctx.app.enqueue('work.hang-once', null)
      expect(await job.result({ timeoutMs: 45_000 })).toBe('recovered')
      expect(await worker.waitForLog(msg('exceeded its hard time limit'))).toMatchObject({ taskId: job.id, attempt: 1 })
      const runs = ctx.journal().filter((e) => e.task === 'work.hang-once')
      expect(runs.map((e) => e.attempt)).toEqual([1, 2])
    })

    it('revoke --terminate: a handler that ignores its signal is killed after the grace period; revoked, and RabbitMQ does not redeliver it', async () => {
      await until(() => worker.logs().filter(msg('worker ready')).length === 3, 60_000, 'the replacement ready')
      const job = await ctx.app.enqueue('work.oblivious', null)
      const runs = () => ctx.journal().filter((e) => e.task === 'work.oblivious' && e.event === undefined)
      await until(() => runs().length === 1, 30_000, 'the run to start')
      expect((await conveyor(['revoke', job.id, '--terminate', '--app', RABBIT_APP], ctx.env)).code).toBe(0)
      await expect(job.result({ timeoutMs: 30_000 })).rejects.toThrow()
      expect((await job.record())?.state).toBe('revoked')
      const killed = await worker.waitForLog(
        (l) => msg('did not stop within the grace period')(l) && l.taskId === job.id,
      )
      expect(killed).toMatchObject({ graceMs: 500 })
      // Acked as revoked before the kill: closing the dead process's channel gives nothing back to run again.
      await until(() => worker.logs().filter(msg('worker ready')).length === 4, 60_000, 'the replacement ready')
      expect(runs()).toHaveLength(1)
    })

    it('SIGTERM drains: running tasks finish, queued ones stay, exit 0', async () => {
      await until(() => worker.logs().filter(msg('worker ready')).length === 4, 60_000, 'the replacement ready')
      for (let n = 0; n < 5; n++) await ctx.app.enqueue('work.slow', { ms: 700, n })
      const starts = () => ctx.journal().filter((e) => e.event === 'start')
      // At least two: a test process stalled past one 700 ms task sees a third start, and === 2 would never hold again.
      await until(() => starts().length >= 2, 30_000, 'two tasks running')
      worker.signal('SIGTERM')
      expect(await worker.exited).toBe(0)
      const started = starts()
      expect(ctx.journal().filter((e) => e.event === 'end')).toHaveLength(started.length)
      await until(
        async () => (await ctx.app.broker.stats('default')).ready === 5 - started.length,
        30_000,
        'queued remain',
      )
      expect(await ctx.app.broker.stats('default')).toMatchObject({ inFlight: 0 })
    })
  })

  it('worker --events: an app module that leaves events out publishes its workers’ events to the stream queue, which another process reads', async () => {
    const ctx = await setup('events')
    // TEST_EVENTS=off: the fixture app is made without `events`, as an app is by default.
    const worker = start(['worker', '--app', RABBIT_APP, '--events', '-c', '2'], { ...ctx.env, TEST_EVENTS: 'off' })
    const job = await ctx.app.enqueue('work.echo', { n: 1 })
    const events = await readEvents(ctx.app, (seen) => seen.some((e) => e.type === 'task.succeeded' && e.id === job.id))
    const online = events.find((e) => e.type === 'worker.online')
    expect(online).toMatchObject({ type: 'worker.online', concurrency: 2 })
    // This process's app publishes nothing (no `events`): what it reads comes from the worker process.
    const ofJob = events.filter((e) => 'id' in e && e.id === job.id)
    expect(ofJob.map((e) => e.type)).toEqual(['task.started', 'task.succeeded'])
    expect(ofJob[0]).toMatchObject({ task: 'work.echo', queue: 'default', attempt: 1, worker: online?.worker })
    worker.signal('SIGTERM')
    expect(await worker.exited).toBe(0)
  })

  it('enqueue, inspect queues and purge through --broker amqp://…?prefix=', async () => {
    const prefix = `cvt.cli.${randomUUID().slice(0, 8)}`
    const url = `${AMQP_URL}?prefix=${prefix}`
    cleanup.push(() => deleteQueues(prefix, ['cli-q'], DEFAULT_DELAY_LEVELS))
    // In this process (runCli): the bin itself is proven by cli-basics and the worker tests.
    const enqueued = await conveyorInProcess([
      'enqueue',
      'any.task',
      '{"x":1}',
      '-q',
      'cli-q',
      '--broker',
      url,
      '--json',
    ])
    expect(enqueued.code).toBe(0)
    expect(JSON.parse(enqueued.stdout)).toMatchObject({ task: 'any.task', queue: 'cli-q' })
    const inspected = await conveyorInProcess(['inspect', 'queues', 'cli-q', '--broker', url, '--json'])
    expect(JSON.parse(inspected.stdout)).toMatchObject([{ queue: 'cli-q', ready: 1 }])
    const purged = await conveyorInProcess(['purge', 'cli-q', '--yes', '--broker', url, '--json'])
    expect(JSON.parse(purged.stdout)).toEqual({ queue: 'cli-q', removed: 1 })
  })
})
