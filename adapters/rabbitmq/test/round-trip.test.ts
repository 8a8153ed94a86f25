import type { Delivery } from '@conveyor/core/adapter'
import { envelope, eventually, rawChannel, sleep } from '@conveyor/test-support'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, makeBroker, uniquePrefix } from './helpers'

for (const queueType of ['classic', 'quorum'] as const) {
  describe(`rabbitmq round trip (${queueType})`, () => {
    let prefix = ''
    afterEach(async () => cleanup(prefix))

    it('publishes with a confirm and delivers the envelope field for field', async () => {
      prefix = uniquePrefix(`rt-${queueType}`)
      const broker = makeBroker(prefix, { queueType })
      await broker.declare({ name: 'q' })
      const sent = envelope('q', {
        headers: { a: 'b' },
        trace: { traceparent: 'x' },
        payload: { deep: [1, 'two', null] },
      })
      await broker.publish(sent)
      // The confirm means the server holds it: a raw reader sees it before any consumer runs.
      const raw = await rawChannel()
      expect((await raw.channel.checkQueue(broker.queueNames('q').work)).messageCount).toBe(1)
      await raw.close()
      const got: Delivery[] = []
      await broker.consume('q', (d) => got.push(d), { prefetch: 5 })
      await eventually(() => got.length === 1)
      expect(got[0]!.envelope).toEqual(sent)
      expect(got[0]!.deliveryCount).toBe(1)
      await got[0]!.ack()
      await expect(got[0]!.ack()).rejects.toMatchObject({ code: 'CONVEYOR_DELIVERY_SETTLED' })
      await eventually(async () => (await broker.stats('q')).ready === 0)
      expect(await broker.stats('q')).toEqual({ ready: 0, inFlight: 0, delayed: 0, dead: 0 })
      await broker.close()
    })

    it('retries with a delay, never early, then dead-letters and replays', async () => {
      prefix = uniquePrefix(`rd-${queueType}`)
      const broker = makeBroker(prefix, { queueType })
      await broker.declare({ name: 'q' })
      const seen: { attempt: number; at: number; d: Delivery }[] = []
      await broker.consume('q', (d) => seen.push({ attempt: d.envelope.attempt, at: Date.now(), d }), { prefetch: 2 })
      await broker.publish(envelope('q'))
      await eventually(() => seen.length === 1)
      const retriedAt = Date.now()
      await seen[0]!.d.retry(300)
      await eventually(() => seen.length === 2, 5_000, 'the retry')
      expect(seen[1]!.attempt).toBe(2)
      expect(seen[1]!.at - retriedAt).toBeGreaterThanOrEqual(300)
      expect(seen[1]!.d.deliveryCount).toBe(1)
      await seen[1]!.d.deadLetter('max-attempts', { name: 'Error', message: 'boom' })
      await eventually(async () => (await broker.deadLetters.count('q')) === 1)
      const [dead] = await broker.deadLetters.list('q')
      expect(dead).toMatchObject({ reason: 'max-attempts', attempts: 2, error: { message: 'boom' }, queue: 'q' })
      expect(dead!.envelope!.id).toBe(seen[0]!.d.envelope.id)
      expect(await broker.deadLetters.replay('q')).toBe(1)
      await eventually(() => seen.length === 3, 5_000, 'the replay')
      expect(seen[2]!.attempt).toBe(1)
      await seen[2]!.d.ack()
      expect(await broker.deadLetters.count('q')).toBe(0)
      await sleep(10)
      await broker.close()
    })
  })
}

describe('rabbitmq publishMany', () => {
  let prefix = ''
  afterEach(async () => cleanup(prefix))

  it('publishes a batch across queues, each confirmed', async () => {
    prefix = uniquePrefix('many')
    const broker = makeBroker(prefix, { delayLevels: [50, 200, 1_000, 60_000] })
    const batch = [
      envelope('a'),
      envelope('b'),
      envelope('a', { priority: 9 }),
      envelope('b', { notBefore: Date.now() + 60_000 }),
    ]
    await broker.publishMany(batch)
    expect(await broker.stats('a')).toMatchObject({ ready: 2 })
    expect(await broker.stats('b')).toMatchObject({ ready: 1, delayed: 1 })
    await broker.close()
  })

  it('a batch past the write buffer goes out in full, the rest after drain, every message confirmed', async () => {
    prefix = uniquePrefix('many-full')
    const broker = makeBroker(prefix)
    await broker.declare({ name: 'q' })
    // ~40 MB in one call: far past amqplib's high-water mark, so most of the batch waits for `drain`.
    const big = 'x'.repeat(20_000)
    const batch = Array.from({ length: 2_000 }, (_, i) => envelope('q', { payload: { i, big } }))
    await broker.publishMany(batch.slice(0, 1))
    await broker.publishMany(batch.slice(1))
    expect(await broker.stats('q')).toMatchObject({ ready: 2_000 })
    await broker.close()
  })

  it('a batch to a queue deleted behind its back rejects as unroutable, and the next batch declares it again', async () => {
    prefix = uniquePrefix('many-unroutable')
    const broker = makeBroker(prefix)
    await broker.declare({ name: 'q' })
    await broker.publishMany([envelope('q')])
    const raw = await rawChannel()
    await raw.channel.deleteQueue(broker.queueNames('q').work)
    await expect(broker.publishMany([envelope('q'), envelope('q')])).rejects.toMatchObject({
      code: 'CONVEYOR_UNROUTABLE',
    })
    await broker.publishMany([envelope('q'), envelope('q')])
    expect((await raw.channel.checkQueue(broker.queueNames('q').work)).messageCount).toBe(2)
    await raw.close()
    await broker.close()
  })

  it('a batch with a message over maxMessageBytes rejects for it and confirms the others', async () => {
    prefix = uniquePrefix('many-large')
    const broker = makeBroker(prefix, { maxMessageBytes: 4_096 })
    await broker.declare({ name: 'q' })
    const batch = [envelope('q'), envelope('q', { payload: { big: 'x'.repeat(8_000) } }), envelope('q')]
    await expect(broker.publishMany(batch)).rejects.toMatchObject({ code: 'CONVEYOR_PAYLOAD_TOO_LARGE' })
    await eventually(async () => (await broker.stats('q')).ready === 2, 5_000, 'the two small messages')
    await broker.close()
  })
})
