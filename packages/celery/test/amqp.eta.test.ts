// Celery messages with an ETA on RabbitMQ, as a Celery producer publishes them (the captured message, eta set):
// held unacked by the consumer until due, however far ahead, and given back when the worker holding them stops.
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { type App, createApp } from '@conveyor/core'
import { sleep } from '@conveyor/test-support'
import type { ChannelModel } from 'amqplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CeleryCall, createCeleryAmqpBroker, toCeleryTime } from '../src/index'
import { AMQP_URL, cleanAmqp, rawAmqp } from './amqp-helpers'
import { uniqueQueue } from './redis-helpers'

const captured = JSON.parse(readFileSync(new URL('./fixtures/captured-amqp-message.json', import.meta.url), 'utf8'))
const DAY_MS = 86_400_000

/** Publish `proj.tasks.add(2, 3)` as Celery does, due at `eta`; no reply_to (no result wanted), no expiry. */
async function sendWithEta(raw: ChannelModel, queue: string, eta: number): Promise<void> {
  const id = randomUUID()
  const headers = {
    ...captured.headers,
    task: 'proj.tasks.add',
    id,
    root_id: id,
    eta: toCeleryTime(eta),
    expires: null,
  }
  const channel = await raw.createConfirmChannel()
  channel.publish(
    '',
    queue,
    Buffer.from('[[2, 3], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]'),
    {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      deliveryMode: 2,
      correlationId: id,
      headers,
    },
  )
  await channel.waitForConfirms()
  await channel.close()
}

async function readyCount(raw: ChannelModel, queue: string): Promise<number> {
  const channel = await raw.createChannel()
  const { messageCount } = await channel.checkQueue(queue)
  await channel.close()
  return messageCount
}

describe('Celery ETAs on RabbitMQ', { timeout: 30_000 }, () => {
  let raw: ChannelModel
  const queues: string[] = []

  beforeAll(async () => {
    raw = await rawAmqp()
  })

  afterAll(async () => {
    if (!raw) return
    for (const queue of queues) await cleanAmqp(raw, queue)
    await raw.close()
  })

  function appOn(queue: string, runs: number[]): App {
    queues.push(queue)
    const app = createApp({ broker: createCeleryAmqpBroker({ url: AMQP_URL, logger: false }), logger: false })
    app.task(
      'proj.tasks.add',
      ({ args }: CeleryCall<[number, number]>) => {
        runs.push(Date.now())
        return args[0] + args[1]
      },
      { queue },
    )
    return app
  }

  it('celery-eta-amqp-1: an ETA 30 days ahead (past setTimeout 2^31-1 ms) is held unacked, not run', async () => {
    const queue = uniqueQueue('eta-far')
    const runs: number[] = []
    const app = appOn(queue, runs)
    try {
      await app.worker({ queues: [queue], concurrency: 1 }).start()
      await sendWithEta(raw, queue, Date.now() + 30 * DAY_MS)
      await sleep(1000)
      expect(runs).toEqual([])
      expect(await readyCount(raw, queue)).toBe(0) // held by the consumer
    } finally {
      await app.close({ timeoutMs: 500 })
    }
    expect(await readyCount(raw, queue)).toBe(1) // unacked: back on the queue once the app closed
  })

  it('celery-eta-amqp-2: a stopped worker gives its held ETA messages back; the next worker runs them when due', async () => {
    const queue = uniqueQueue('eta-stop')
    const runs: number[] = []
    const app = appOn(queue, runs)
    try {
      const first = app.worker({ queues: [queue], concurrency: 1 })
      await first.start()
      const eta = Date.now() + 2000
      await sendWithEta(raw, queue, eta)
      await sleep(300)
      await first.stop({ timeoutMs: 500 })
      await app.worker({ queues: [queue], concurrency: 1 }).start()
      while (runs.length === 0 && Date.now() < eta + 3000) await sleep(50)
      expect(runs).toHaveLength(1)
      expect(runs[0]).toBeGreaterThanOrEqual(eta - 5)
    } finally {
      await app.close({ timeoutMs: 500 })
    }
  })
})
