import { randomUUID } from 'node:crypto'
import { createApp } from '@conveyor/core'
import type { Delivery } from '@conveyor/core/adapter'
import { envelope, eventually, rawChannel } from '@conveyor/test-support'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, makeBroker, uniquePrefix } from './helpers'

/** Envelope JSON for `task` whose payload nests `depth` arrays (built as text: JSON.stringify would overflow). */
const deepEnvelopeText = (task: string, queue: string, depth: number) =>
  JSON.stringify({
    id: randomUUID(),
    task,
    payload: null,
    queue,
    priority: 0,
    attempt: 1,
    maxAttempts: 3,
    createdAt: Date.now(),
  }).replace('"payload":null', `"payload":${'['.repeat(depth)}${']'.repeat(depth)}`)

describe('rabbitmq: poison that must reach the dead-letter queue', () => {
  let prefix = ''
  afterEach(async () => cleanup(prefix))

  it('payloads nested thousands of levels deep are dead-lettered as malformed and free their slots', async () => {
    prefix = uniquePrefix('deep')
    const broker = makeBroker(prefix)
    const app = createApp({ broker, logger: false })
    const done: number[] = []
    const ok = app.task('ok', (input: { i: number }) => {
      done.push(input.i)
    })
    try {
      await app.worker({ queues: ['default'], concurrency: 2 }).start()
      // Four of them used to stop a concurrency-2 worker: each was held unacked after its dead-letter failed.
      for (let i = 0; i < 4; i++) await broker.publishRaw('default', deepEnvelopeText('nobody', 'default', 6_000))
      await ok.enqueue({ i: 1 })
      await ok.enqueue({ i: 2 })
      await eventually(() => done.length === 2, 10_000, 'the ordinary jobs')
      await eventually(async () => (await broker.deadLetters.count('default')) === 4, 10_000, 'four dead letters')
      const letters = await broker.deadLetters.list('default')
      expect(letters.map((l) => l.reason)).toEqual(['malformed', 'malformed', 'malformed', 'malformed'])
      expect((await broker.stats('default')).ready).toBe(0)
    } finally {
      await app.close()
    }
  })

  it('a dead letter carries the bytes as delivered, not an encoding of them', async () => {
    prefix = uniquePrefix('raw-dead')
    const broker = makeBroker(prefix)
    const app = createApp({ broker, logger: false })
    const body = `{ "task": "nobody", "id": "raw-1", "payload": {"b": 1, "a": [ 1, 2 ]}, "queue": "default",
      "priority": 0, "attempt": 1, "maxAttempts": 3, "createdAt": ${Date.now()}, "extra": "kept" }`
    try {
      await app.worker({ queues: ['default'] }).start()
      await broker.publishRaw('default', body)
      await eventually(async () => (await broker.deadLetters.count('default')) === 1, 10_000, 'the dead letter')
      const raw = await rawChannel()
      try {
        const message = await raw.channel.get(broker.queueNames('default').dead, { noAck: false })
        expect(message === false ? 'nothing' : message.content.toString('utf8')).toBe(body)
      } finally {
        await raw.close()
      }
      const [letter] = await broker.deadLetters.list('default')
      expect(letter).toMatchObject({ id: 'raw-1', reason: 'unknown-task', envelope: { task: 'nobody' } })
    } finally {
      await app.close()
    }
  })

  it('a dead-letter that cannot be published gives the message back instead of holding it', async () => {
    prefix = uniquePrefix('dead-refused')
    const broker = makeBroker(prefix)
    await broker.declare({ name: 'q' })
    const sent = envelope('q')
    await broker.publish(sent)
    const got: Delivery[] = []
    await broker.consume('q', (d) => got.push(d), { prefetch: 1 })
    await eventually(() => got.length === 1, 10_000, 'the delivery')
    // The dead-letter queue vanishes behind the adapter's back: the dead-letter publish comes back unroutable.
    const raw = await rawChannel()
    await raw.channel.deleteQueue(broker.queueNames('q').dead)
    await raw.close()
    await expect(got[0]!.deadLetter('unrecoverable')).rejects.toThrow()
    // Given back, it comes again (counted), and this time the adapter declares the queue again and dead-letters it.
    await eventually(() => got.length === 2, 10_000, 'the delivery again')
    expect(got[1]!.deliveryCount).toBe(2)
    await got[1]!.deadLetter('unrecoverable')
    expect(await broker.deadLetters.count('q')).toBe(1)
    expect((await broker.stats('q')).ready).toBe(0)
    await broker.close()
  })
})
