import { createApp } from '@conveyor/core'
import { AMQP_URL } from '@conveyor/test-support'
import { afterEach, describe, expect, it } from 'vitest'
import {
  createRabbitMQResultBackend,
  createRabbitMQRpcResults,
  DEFAULT_DELAY_LEVELS,
  queueNames,
  rabbitmqAdapter,
} from '../src/index'
import { cleanup, makeBroker, uniquePrefix } from './helpers'

describe('an app on rabbitmq with no `results`', () => {
  let prefix = ''
  // Queues declared by an app built from a URL are not tracked by the helpers' brokers: name them.
  const urlQueues = () => {
    const names = queueNames(prefix, 'default', DEFAULT_DELAY_LEVELS)
    return [names.work, names.dead, ...names.delays.map((level) => level.name)]
  }
  afterEach(async () => cleanup(prefix, urlQueues()))

  it('given the broker as a URL, reads results through RPC results (the broker’s natural store)', async () => {
    prefix = uniquePrefix('default-results')
    const app = createApp({ broker: `${AMQP_URL}?prefix=${prefix}`, adapters: [rabbitmqAdapter], logger: false })
    const add = app.task('math.add', async (input: { a: number; b: number }) => input.a + input.b)
    const worker = app.worker()
    await worker.start()
    const job = await add.enqueue({ a: 2, b: 3 })
    expect(await job.result({ timeoutMs: 10_000 })).toBe(5)
    await worker.stop({ timeoutMs: 1_000 })
    await app.close()
  })

  it('given a broker instance, job.result() fails at once saying what to pass', async () => {
    prefix = uniquePrefix('no-results')
    const app = createApp({ broker: makeBroker(prefix), logger: false })
    const job = await app.task('t', () => 1).enqueue(null)
    const started = Date.now()
    const failure = job.result({ timeoutMs: 10_000 })
    await expect(failure).rejects.toMatchObject({ code: 'CONVEYOR_NO_RESULT_BACKEND' })
    await expect(failure).rejects.toThrow(/createRabbitMQResultBackend\(\{ url \}\)/)
    expect(Date.now() - started).toBeLessThan(1_000)
    await app.close()
  })
})

describe('the deprecated name createRabbitMQRpcResults', () => {
  it('is createRabbitMQResultBackend (one name per concept: create<Store>ResultBackend)', () => {
    expect(createRabbitMQRpcResults).toBe(createRabbitMQResultBackend)
  })
})
