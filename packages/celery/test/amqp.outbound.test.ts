// Conveyor enqueues on RabbitMQ as Celery does → a real Celery 5 worker → replies to our RPC reply queue.
import { type App, createApp, TaskFailedError } from '@conveyor/core'
import type { ChannelModel } from 'amqplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { celeryTask, createCeleryAmqpBroker, createCeleryRpcResultBackend } from '../src/index'
import { AMQP_URL, CELERY_AMQP_URL, cleanAmqp, rawAmqp } from './amqp-helpers'
import { type CeleryEnv, type CeleryWorker, requireCelery, startCeleryWorker } from './python'
import { uniqueQueue } from './redis-helpers'

const add = celeryTask<[number, number], number, { extra?: number }>('proj.tasks.add')
const fail = celeryTask<[string], never>('proj.tasks.fail')
const stamp = celeryTask<unknown[], { ran_at: number }>('proj.tasks.stamp')

describe('Conveyor → Celery on RabbitMQ', { timeout: 120_000 }, () => {
  const queue = uniqueQueue('amqp-out')
  const env: CeleryEnv = { broker: CELERY_AMQP_URL, backend: 'rpc://', queue }
  let worker: CeleryWorker
  let app: App
  let raw: ChannelModel

  beforeAll(async () => {
    requireCelery()
    raw = await rawAmqp()
    worker = await startCeleryWorker(env)
    app = createApp({
      broker: createCeleryAmqpBroker({ url: AMQP_URL, logger: false }),
      results: createCeleryRpcResultBackend({ url: AMQP_URL }),
      logger: false,
    })
  })

  afterAll(async () => {
    await worker?.stop()
    await app?.close()
    if (raw) {
      await cleanAmqp(raw, queue)
      await raw.close()
    }
  })

  it('celery-amqp-out-1: a typed enqueue runs on Celery and the RPC replies reach job.result()', async () => {
    const job = await app.enqueue(add, { args: [40, 1], kwargs: { extra: 1 } }, { queue })
    const failing = await app.enqueue(fail, { args: ['broken'] }, { queue })
    expect(await job.result({ timeoutMs: 60_000 })).toBe(42)
    await expect(failing.result({ timeoutMs: 60_000 })).rejects.toBeInstanceOf(TaskFailedError)
    expect(await failing.record()).toMatchObject({ state: 'failed', error: { name: 'ValueError', message: 'broken' } })
  })

  it('celery-amqp-out-2: countdown is honoured by the Celery worker, and an expired task is REVOKED', async () => {
    const before = Date.now()
    const later = await app.enqueue(stamp, { args: [] }, { queue, delayMs: 1500 })
    const expired = await app.enqueue(stamp, { args: [] }, { queue, delayMs: 1000, expiresInMs: 300 })
    const ran = await later.result({ timeoutMs: 60_000 })
    expect(ran.ran_at * 1000 - before).toBeGreaterThanOrEqual(1400)
    await expect(expired.result({ timeoutMs: 60_000 })).rejects.toBeInstanceOf(TaskFailedError)
    expect(await expired.record()).toMatchObject({ state: 'revoked' })
  })
})
