// Python's send_task over RabbitMQ → a Conveyor worker → Python's AsyncResult.get() through Celery's RPC backend.
import { type App, createApp } from '@conveyor/core'
import type { ChannelModel } from 'amqplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CeleryCall, createCeleryAmqpBroker, createCeleryRpcResultBackend } from '../src/index'
import { AMQP_URL, CELERY_AMQP_URL, cleanAmqp, rawAmqp } from './amqp-helpers'
import { type CeleryEnv, pythonCall, requireCelery } from './python'
import { uniqueQueue } from './redis-helpers'

describe('Celery → Conveyor on RabbitMQ', { timeout: 120_000 }, () => {
  const queue = uniqueQueue('amqp-in')
  const env: CeleryEnv = { broker: CELERY_AMQP_URL, backend: 'rpc://', queue }
  let app: App
  let raw: ChannelModel

  beforeAll(async () => {
    requireCelery()
    raw = await rawAmqp()
    app = createApp({
      broker: createCeleryAmqpBroker({ url: AMQP_URL, logger: false }),
      results: createCeleryRpcResultBackend({ url: AMQP_URL }),
      logger: false,
    })
    app.task(
      'proj.tasks.add',
      ({ args, kwargs }: CeleryCall<[number, number], { extra?: number }>) => {
        return args[0] + args[1] + (kwargs?.extra ?? 0)
      },
      { queue },
    )
    app.task(
      'proj.tasks.fail',
      ({ args }: CeleryCall<[string]>) => {
        throw new Error(`no luck: ${args[0]}`)
      },
      { queue },
    )
    await app.worker({ queues: [queue], concurrency: 2 }).start()
  })

  afterAll(async () => {
    await app?.close({ timeoutMs: 1000 })
    if (raw) {
      await cleanAmqp(raw, queue)
      await raw.close()
    }
  })

  it('celery-amqp-in-1: send_task runs on the Conveyor worker; the RPC reply reaches AsyncResult.get()', async () => {
    const [ok, failed] = await Promise.all([
      pythonCall(env, 'proj.tasks.add', [20, 1], { extra: 21 }, { queue }),
      pythonCall(env, 'proj.tasks.fail', ['x'], {}, { queue }),
    ])
    expect(ok).toMatchObject({ status: 'SUCCESS', result: 42 })
    // An error name Python does not know becomes a class Celery makes up with that name.
    expect(failed).toMatchObject({ status: 'FAILURE', error_type: 'Error' })
    expect(failed.error).toContain('no luck: x')
  })
})
