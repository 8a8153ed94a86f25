import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { type App, createApp, UnrecoverableError } from '@conveyor/core'
import { createRabbitMQBroker, DEFAULT_DELAY_LEVELS, queueNames } from '@conveyor/rabbitmq'
import { createRedisBroker, createRedisCoordination } from '@conveyor/redis'
import { deletePrefix, REDIS_URL, rawRedis, sleep, until } from '@conveyor/test-support'
import { connect } from 'amqplib'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { webhookReceiver } from '../../core/test/alerts/webhook-receiver'
import { killLeftovers, ROOT, start, useBundle } from './helpers'

const FIXTURE = join(ROOT, 'packages/cli/test/fixtures/alerts-app.ts')
const AMQP_URL = process.env.CONVEYOR_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'
const LEASE_MS = 3000

let redis: Redis
const cleanup: (() => Promise<void>)[] = []
beforeAll(async () => {
  redis = await rawRedis()
  // Plain JS processes: two evaluators under tsx cost seconds of CPU to start on a loaded machine.
  await useBundle({ alerts: FIXTURE })
})
afterAll(async () => {
  await killLeftovers()
  for (const fn of cleanup.reverse()) await fn().catch(() => undefined)
  redis.disconnect()
})

async function deleteRabbitQueues(prefix: string, queue: string) {
  const model = await connect(AMQP_URL)
  try {
    const channel = await model.createChannel()
    const n = queueNames(prefix, queue, DEFAULT_DELAY_LEVELS)
    for (const name of [n.work, n.dead, ...n.delays.map((d) => d.name)]) await channel.deleteQueue(name)
  } finally {
    await model.close().catch(() => undefined)
  }
}

const leading = (line: Record<string, unknown>) => line.msg === 'alert evaluator leading'

describe.concurrent.each(['redis', 'rabbitmq'] as const)('conveyor alerts on %s', (kind) => {
  it('fires and resolves each broker-stat alert once per incident, and fails over when the evaluator is killed', async () => {
    const prefix = `cvtest-alerts-${kind}-${randomUUID().slice(0, 8)}`
    const queue = 'alerted'
    const hook = await webhookReceiver()
    cleanup.push(hook.close, () => deletePrefix(redis, prefix))
    if (kind === 'rabbitmq') cleanup.push(() => deleteRabbitQueues(prefix, queue))
    const env = {
      TEST_BROKER: kind,
      TEST_PREFIX: prefix,
      TEST_QUEUE: queue,
      TEST_OLDEST: kind === 'redis' ? '1' : '0',
      CONVEYOR_REDIS_URL: REDIS_URL,
    }
    const coordination = createRedisCoordination({ url: REDIS_URL, prefix })
    const app: App = createApp({
      broker:
        kind === 'rabbitmq'
          ? createRabbitMQBroker({ url: AMQP_URL, prefix, logger: false })
          : createRedisBroker({ url: REDIS_URL, prefix, logger: false }),
      results: false,
      logger: false,
    })
    cleanup.push(
      () => app.close(),
      () => coordination.close(),
    )
    app.task(
      'boom',
      () => {
        throw new UnrecoverableError('no')
      },
      { queue },
    )
    await app.broker.connect()
    await app.broker.declare({ name: queue })
    const count = (rule: string) => [hook.count(rule, 'firing'), hook.count(rule, 'resolved')]
    // What the receiver got, in order: the message of every count assertion, so a failure shows the story.
    const story = () => hook.received.map((r) => `${r.rule}:${r.status}`).join(' ')

    // Two evaluators: whichever takes the lease evaluates; the other stands by.
    const args = ['alerts', '--app', FIXTURE, '--webhook', hook.url]
    const first = start(args, env)
    const second = start(args, env)
    await Promise.all([first, second].map((p) => p.waitForLog((l) => l.msg === 'alerts started', 60_000)))

    // No worker heartbeat and no scheduler: both fire (once, by the leader only).
    await until(
      () => hook.count('no-worker', 'firing') >= 1 && hook.count('missed-tick', 'firing') >= 1,
      20_000,
      'no-worker and missed-tick firing',
    )
    const now = Date.now()
    await coordination.putHeartbeat(
      {
        id: 'w1',
        host: 'h',
        pid: 1,
        queues: [queue],
        state: 'running',
        active: 0,
        processed: 0,
        startedAt: now,
        at: now,
      },
      120_000,
    )
    // A stand-in scheduler, one tick ahead so that a stall of this (loaded) test process is not a missed tick.
    const ticker = setInterval(
      () => void coordination.claimTick('alerted-tick', Math.floor(Date.now() / 1000) * 1000 + 1000, 60_000),
      100,
    )
    cleanup.push(async () => clearInterval(ticker))
    await until(
      () => hook.count('no-worker', 'resolved') >= 1 && hook.count('missed-tick', 'resolved') >= 1,
      20_000,
      'no-worker and missed-tick resolved',
    )

    // A backlog that flaps inside its 1.5 s `for`: not one notification.
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 3; j++) await app.enqueue('noop', j, { queue })
      await sleep(250)
      await app.broker.purge(queue)
      await sleep(150)
    }
    expect(count('backlog'), story()).toEqual([0, 0])
    if (kind === 'redis') expect(count('oldest'), story()).toEqual([0, 0])

    // A backlog that holds: one firing; drained: one resolved. On Redis the oldest-waiting age fires with it.
    for (let j = 0; j < 3; j++) await app.enqueue('noop', j, { queue })
    await until(() => hook.count('backlog', 'firing') >= 1, 10_000, 'backlog firing')
    if (kind === 'redis') await until(() => hook.count('oldest', 'firing') >= 1, 10_000, 'oldest firing')
    await app.broker.purge(queue)
    await until(() => hook.count('backlog', 'resolved') >= 1, 10_000, 'backlog resolved')
    if (kind === 'redis') await until(() => hook.count('oldest', 'resolved') >= 1, 10_000, 'oldest resolved')

    // Dead letters growing: one task dead-lettered; resolved once the 1.5 s window passed without more.
    const worker = app.worker({ queues: [queue] })
    await worker.start()
    await app.enqueue('boom', null, { queue })
    await until(() => hook.count('dead-letters', 'firing') >= 1, 10_000, 'dead letters firing')
    await worker.stop()
    await until(() => hook.count('dead-letters', 'resolved') >= 1, 10_000, 'dead letters resolved')

    // Kill the leader outright: the standby leads within the lease TTL and carries on notifying.
    const [leader, standby] = first.logs().some(leading) ? [first, second] : [second, first]
    leader.signal('SIGKILL')
    await leader.exited
    const killedAt = Date.now()
    await standby.waitForLog(leading, 10_000)
    const tookOverMs = Date.now() - killedAt
    expect(tookOverMs).toBeLessThan(LEASE_MS + 1500)
    for (let j = 0; j < 3; j++) await app.enqueue('noop', j, { queue })
    await until(() => hook.count('backlog', 'firing') >= 2, 10_000, 'backlog firing after failover')
    const fired = hook.received.filter((r) => r.rule === 'backlog' && r.status === 'firing').at(-1)!
    expect(fired.evaluator).toContain(`:${standby.process.pid}`)
    expect(fired.text).toMatch(/^\[FIRING\] backlog \(warning\): queue alerted has more than 2 ready messages/)
    await app.broker.purge(queue)
    await until(() => hook.count('backlog', 'resolved') >= 2, 10_000, 'backlog resolved after failover')

    // One firing and one resolved per incident, per rule; nothing else.
    expect(count('no-worker'), story()).toEqual([1, 1])
    expect(count('missed-tick'), story()).toEqual([1, 1])
    expect(count('dead-letters'), story()).toEqual([1, 1])
    expect(count('backlog'), story()).toEqual([2, 2])
    if (kind === 'redis') expect(count('oldest'), story()).toEqual([1, 1])
    expect(hook.received).toHaveLength(kind === 'redis' ? 12 : 10)
    standby.signal('SIGTERM')
    expect(await standby.exited).toBe(0)
    await coordination.removeHeartbeat('w1')
  }, 150_000)
})
