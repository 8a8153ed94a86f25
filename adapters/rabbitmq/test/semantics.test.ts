import type { Delivery } from '@conveyor/core/adapter'
import { envelope, eventually, rawChannel, sleep } from '@conveyor/test-support'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, makeBroker, uniquePrefix } from './helpers'

for (const queueType of ['classic', 'quorum'] as const) {
  describe(`rabbitmq semantics (${queueType})`, () => {
    let prefix = ''
    afterEach(async () => cleanup(prefix))

    it('delivers delayed messages never early, a short delay not blocked by a long one', async () => {
      prefix = uniquePrefix(`delay-${queueType}`)
      const broker = makeBroker(prefix, { queueType })
      await broker.declare({ name: 'q' })
      const now = Date.now()
      const delays = [1_700, 30, 420, 0, 1_050]
      for (const delay of delays) await broker.publish(envelope('q', { notBefore: now + delay, payload: { delay } }))
      const stats = await broker.stats('q')
      expect(stats.delayed + stats.ready).toBe(5)
      expect(stats.delayed).toBeGreaterThanOrEqual(2) // 1,700 and 1,050 ms wait in the 1 s level
      const got: { delay: number; at: number }[] = []
      await broker.consume(
        'q',
        (d) => {
          got.push({ delay: (d.envelope.payload as { delay: number }).delay, at: Date.now() })
          d.ack().catch(() => {})
        },
        { prefetch: 10 },
      )
      await eventually(() => got.length === 5, 8_000, 'all delayed messages')
      for (const { delay, at } of got) expect(at).toBeGreaterThanOrEqual(now + delay)
      // 0 and 30 ms are both due by the time the consumer starts; the longer ones come in order.
      expect(got.map((g) => g.delay).slice(2)).toEqual([420, 1_050, 1_700])
      await broker.close()
    })

    it('counts deliveries across a crashed consumer and a new broker instance', async () => {
      prefix = uniquePrefix(`count-${queueType}`)
      const first = makeBroker(prefix, { queueType })
      await first.declare({ name: 'q' })
      const sent = envelope('q')
      await first.publish(sent)
      const counts: number[] = []
      await first.consume('q', (d) => counts.push(d.deliveryCount), { prefetch: 1 })
      await eventually(() => counts.length === 1)
      await first.destroy()
      for (let i = 2; i <= 3; i++) {
        const next = makeBroker(prefix, { queueType })
        const got: Delivery[] = []
        await next.consume('q', (d) => got.push(d), { prefetch: 1 })
        await eventually(() => got.length === 1, 10_000, `delivery ${i}`)
        counts.push(got[0]!.deliveryCount)
        expect(got[0]!.envelope).toEqual(sent)
        if (i < 3) await next.destroy()
        else {
          // A graceful release is not counted.
          await got[0]!.release()
          await eventually(() => got.length === 2, 10_000, 'the released message')
          counts.push(got[1]!.deliveryCount)
          await got[1]!.ack()
          await next.close()
        }
      }
      expect(counts).toEqual([1, 2, 3, 3])
    })

    it('dead-letters malformed bodies with reason malformed and keeps consuming', async () => {
      prefix = uniquePrefix(`bad-${queueType}`)
      const broker = makeBroker(prefix, { queueType })
      await broker.declare({ name: 'q' })
      await broker.publishRaw('q', '{not json')
      await broker.publishRaw('q', JSON.stringify({ id: 'x' }))
      const good = envelope('q')
      await broker.publish(good)
      const got: Delivery[] = []
      await broker.consume('q', (d) => got.push(d), { prefetch: 3 })
      await eventually(() => got.length === 1)
      expect(got[0]!.envelope.id).toBe(good.id)
      await got[0]!.ack()
      await eventually(async () => (await broker.deadLetters.count('q')) === 2)
      const dead = await broker.deadLetters.list('q')
      expect(dead.map((d) => d.reason)).toEqual(['malformed', 'malformed'])
      expect(dead[0]!.raw).toBe('{not json')
      expect(dead[0]!.envelope).toBeUndefined()
      expect(await broker.deadLetters.replay('q')).toBe(0)
      expect(await broker.deadLetters.count('q')).toBe(2)
      await broker.close()
    })

    it('replays and purges selected dead letters without losing the others, in order', async () => {
      prefix = uniquePrefix(`dlq-${queueType}`)
      const broker = makeBroker(prefix, { queueType })
      await broker.declare({ name: 'q' })
      const sent = Array.from({ length: 5 }, () => envelope('q'))
      for (const e of sent) await broker.publish(e)
      const got: Delivery[] = []
      const sub = await broker.consume('q', (d) => got.push(d), { prefetch: 10 })
      await eventually(() => got.length === 5)
      for (const d of got) await d.deadLetter('unrecoverable', { name: 'Error', message: d.envelope.id })
      await sub.cancel()
      await eventually(async () => (await broker.deadLetters.count('q')) === 5)
      const ids = sent.map((e) => e.id)
      expect((await broker.deadLetters.list('q')).map((d) => d.id)).toEqual(ids)
      expect((await broker.deadLetters.list('q', { offset: 1, limit: 2 })).map((d) => d.id)).toEqual(ids.slice(1, 3))
      expect(await broker.deadLetters.replay('q', { ids: [ids[1]!, ids[3]!] })).toBe(2)
      expect((await broker.deadLetters.list('q')).map((d) => d.id)).toEqual([ids[0], ids[2], ids[4]])
      expect(await broker.deadLetters.purge('q', [ids[2]!])).toBe(1)
      expect((await broker.deadLetters.list('q')).map((d) => d.id)).toEqual([ids[0], ids[4]])
      expect(await broker.deadLetters.replay('q', { limit: 1 })).toBe(1)
      expect((await broker.deadLetters.list('q')).map((d) => d.id)).toEqual([ids[4]])
      expect(await broker.deadLetters.purge('q')).toBe(1)
      expect(await broker.deadLetters.count('q')).toBe(0)
      // The replayed ones are back on the live queue with attempt 1.
      const raw = await rawChannel()
      expect((await raw.channel.checkQueue(broker.queueNames('q').work)).messageCount).toBe(3)
      await raw.close()
      await broker.close()
    })

    it('purges ready and delayed messages and reports stats', async () => {
      prefix = uniquePrefix(`purge-${queueType}`)
      // A 60 s level, so the delayed message stays in its delay queue while the test looks.
      const broker = makeBroker(prefix, { queueType, delayLevels: [50, 200, 1_000, 60_000] })
      await broker.declare({ name: 'q' })
      await broker.publish(envelope('q'))
      await broker.publish(envelope('q'))
      await broker.publish(envelope('q', { notBefore: Date.now() + 60_000 }))
      expect(await broker.stats('q')).toEqual({ ready: 2, inFlight: 0, delayed: 1, dead: 0 })
      expect(await broker.purge('q')).toBe(3)
      expect(await broker.stats('q')).toEqual({ ready: 0, inFlight: 0, delayed: 0, dead: 0 })
      await broker.close()
    })

    it('rejects an oversized message client-side', async () => {
      prefix = uniquePrefix(`big-${queueType}`)
      const broker = makeBroker(prefix, { queueType, maxMessageBytes: 1_000 })
      await expect(broker.publish(envelope('q', { payload: 'x'.repeat(2_000) }))).rejects.toMatchObject({
        code: 'CONVEYOR_PAYLOAD_TOO_LARGE',
      })
      await broker.close()
    })
  })
}

describe('rabbitmq priorities (classic)', () => {
  let prefix = ''
  afterEach(async () => cleanup(prefix))

  it('delivers higher priority first', async () => {
    prefix = uniquePrefix('prio')
    const broker = makeBroker(prefix)
    expect(broker.capabilities.priorityLevels).toBe(10)
    await broker.declare({ name: 'q' })
    for (const priority of [0, 5, 9, 1, 9, 3]) await broker.publish(envelope('q', { priority }))
    const order: number[] = []
    await broker.consume(
      'q',
      (d) => {
        order.push(d.envelope.priority)
        d.ack().catch(() => {})
      },
      { prefetch: 1 },
    )
    await eventually(() => order.length === 6)
    expect(order).toEqual([9, 9, 5, 3, 1, 0])
    await broker.close()
  })

  it('says quorum queues ignore priorities', () => {
    const broker = makeBroker(uniquePrefix('caps'), { queueType: 'quorum' })
    expect(broker.capabilities.priorityLevels).toBe(1)
    void broker.destroy()
  })
})

describe('rabbitmq topology', () => {
  let prefix = ''
  afterEach(async () => cleanup(prefix))

  it('names the queue and the difference when an existing queue conflicts, and recovers the channel', async () => {
    prefix = uniquePrefix('conflict')
    const classic = makeBroker(prefix)
    await classic.declare({ name: 'q' })
    const quorum = makeBroker(prefix, { queueType: 'quorum' })
    const error = await quorum.declare({ name: 'q' }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'CONVEYOR_INVALID_OPTIONS' })
    expect((error as Error).message).toContain(`"${prefix}.q"`)
    expect((error as Error).message).toMatch(/x-queue-type|x-max-priority/)
    // The precondition error closed a channel; the same broker keeps working on other queues.
    await quorum.declare({ name: 'other' })
    await quorum.publish(envelope('other'))
    expect((await quorum.stats('other')).ready).toBe(1)
    await expect(quorum.declare({ name: 'q', arguments: { nope: 1 } })).rejects.toMatchObject({
      code: 'CONVEYOR_INVALID_OPTIONS',
    })
    await classic.close()
    await quorum.close()
  })

  it('rejects an unroutable publish when a queue was deleted behind its back, then declares it again', async () => {
    prefix = uniquePrefix('unroutable')
    const broker = makeBroker(prefix)
    await broker.declare({ name: 'q' })
    const raw = await rawChannel()
    await raw.channel.deleteQueue(broker.queueNames('q').work)
    await expect(broker.publish(envelope('q'))).rejects.toMatchObject({ code: 'CONVEYOR_UNROUTABLE' })
    await broker.publish(envelope('q'))
    expect((await raw.channel.checkQueue(broker.queueNames('q').work)).messageCount).toBe(1)
    await raw.close()
    await broker.close()
  })

  it('rejects publishing after close, and settling after destroy', async () => {
    prefix = uniquePrefix('closed')
    const broker = makeBroker(prefix)
    await broker.publish(envelope('q'))
    const got: Delivery[] = []
    await broker.consume('q', (d) => got.push(d), { prefetch: 1 })
    await eventually(() => got.length === 1)
    await broker.destroy()
    await expect(got[0]!.ack()).rejects.toMatchObject({ code: 'CONVEYOR_NOT_CONNECTED' })
    await expect(broker.publish(envelope('q'))).rejects.toMatchObject({ code: 'CONVEYOR_NOT_CONNECTED' })
    await sleep(10)
  })
})
