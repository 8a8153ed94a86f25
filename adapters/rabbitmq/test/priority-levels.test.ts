import { amqpPriority, rabbitmqAdapter } from '@conveyor/rabbitmq'
import { AMQP_URL, envelope, eventually, rawChannel } from '@conveyor/test-support'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, makeBroker, uniquePrefix } from './helpers'

/** Whether `name` exists with exactly these arguments: RabbitMQ refuses (406) a declaration that differs. */
async function declaredWith(name: string, args: Record<string, number>): Promise<boolean> {
  const raw = await rawChannel()
  try {
    await raw.channel.assertQueue(name, { durable: true, arguments: args })
    return true
  } catch (error) {
    if ((error as { code?: number }).code === 406) return false
    throw error
  } finally {
    await raw.close()
  }
}

describe('rabbitmq priorityLevels (classic queues)', () => {
  let prefix = ''
  afterEach(async () => cleanup(prefix))

  it('spreads priorities 0–9 evenly over fewer levels, keeping band order and FIFO within a band', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((p) => amqpPriority(p, 5))).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4])
    expect([0, 4, 5, 9].map((p) => amqpPriority(p, 2))).toEqual([0, 0, 1, 1])
    expect([0, 9].map((p) => amqpPriority(p, 10))).toEqual([0, 9])
    expect(amqpPriority(9, 1)).toBeUndefined()
  })

  it('with 5 levels: x-max-priority 4 on the server, higher bands first, publish order within a band', async () => {
    prefix = uniquePrefix('plevels')
    const broker = makeBroker(prefix, { priorityLevels: 5 })
    expect(broker.capabilities.priorityLevels).toBe(5)
    await broker.declare({ name: 'q' })
    expect(await declaredWith(broker.queueNames('q').work, { 'x-max-priority': 4 })).toBe(true)
    const sent = [1, 9, 0, 8, 4, 5].map((priority, i) => envelope('q', { priority, payload: { i } }))
    for (const e of sent) await broker.publish(e)
    const got: string[] = []
    await broker.consume(
      'q',
      (d) => {
        got.push(d.envelope.id)
        d.ack().catch(() => {})
      },
      { prefetch: 1 },
    )
    await eventually(() => got.length === sent.length)
    // Bands: 9 and 8 share band 4 (FIFO: 9 was sent first), 4 and 5 are bands 2 and 2, 1 and 0 band 0.
    const byIndex = (...indexes: number[]) => indexes.map((i) => sent[i]!.id)
    expect(got).toEqual(byIndex(1, 3, 4, 5, 0, 2))
    // Envelopes keep their own priority: only the AMQP property is banded.
    expect((await broker.stats('q')).ready).toBe(0)
    await broker.close()
  })

  it('with 1 level declares a plain classic queue (no x-max-priority) and delivers FIFO', async () => {
    prefix = uniquePrefix('pfifo')
    const broker = makeBroker(prefix, { priorityLevels: 1 })
    expect(broker.capabilities.priorityLevels).toBe(1)
    await broker.declare({ name: 'q' })
    expect(await declaredWith(broker.queueNames('q').work, {})).toBe(true)
    const sent = [0, 9, 3].map((priority) => envelope('q', { priority }))
    for (const e of sent) await broker.publish(e)
    const got: { id: string; priority: number }[] = []
    await broker.consume(
      'q',
      (d) => {
        got.push({ id: d.envelope.id, priority: d.envelope.priority })
        d.ack().catch(() => {})
      },
      { prefetch: 1 },
    )
    await eventually(() => got.length === 3)
    expect(got).toEqual(sent.map((e) => ({ id: e.id, priority: e.priority })))
    await broker.close()
  })

  it('names the queue when an existing queue has other priority levels', async () => {
    prefix = uniquePrefix('pconflict')
    const ten = makeBroker(prefix)
    await ten.declare({ name: 'q' })
    const plain = makeBroker(prefix, { priorityLevels: 1 })
    const error = await plain.declare({ name: 'q' }).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'CONVEYOR_INVALID_OPTIONS' })
    expect((error as Error).message).toContain(`"${prefix}.q"`)
    expect((error as Error).message).toContain('x-max-priority')
    await ten.close()
    await plain.close()
  })

  it('rejects levels outside 1–10 with a message naming the option, and reads it from a URL', async () => {
    for (const priorityLevels of [0, 11, 2.5]) {
      expect(() => makeBroker(uniquePrefix('pbad'), { priorityLevels })).toThrow(/priorityLevels must be an integer/)
    }
    prefix = uniquePrefix('purl')
    const broker = rabbitmqAdapter.createBroker(`${AMQP_URL}?prefix=${prefix}&priorityLevels=3`)
    expect(broker.capabilities.priorityLevels).toBe(3)
    await broker.destroy()
  })

  it('maps the envelope priority once on every republish path (release, retry), and not at all on quorum queues', async () => {
    prefix = uniquePrefix('pmap')
    const broker = makeBroker(prefix, { priorityLevels: 5 })
    const quorum = makeBroker(prefix, { priorityLevels: 5, queueType: 'quorum' })
    const amqpPriorityOf = async (name: string): Promise<number | undefined> => {
      const raw = await rawChannel()
      try {
        let message = await raw.channel.get(name)
        for (let i = 0; message === false && i < 50; i++) {
          await new Promise((resolve) => setTimeout(resolve, 20))
          message = await raw.channel.get(name)
        }
        if (message === false) throw new Error(`nothing on ${name}`)
        return message.properties.priority as number | undefined
      } finally {
        await raw.close() // the unacked message goes back
      }
    }
    const work = broker.queueNames('q').work
    await broker.publish(envelope('q', { priority: 9 }))
    expect(await amqpPriorityOf(work)).toBe(4)
    const seen: string[] = []
    const sub = await broker.consume(
      'q',
      (d) => {
        seen.push(`${d.envelope.attempt}`)
        // First delivery: released (same attempt); second: retried at once (attempt 2); third: left for the check.
        if (seen.length === 1) void d.release()
        else if (seen.length === 2) void d.retry(0)
      },
      { prefetch: 1 },
    )
    await eventually(() => seen.length === 3)
    expect(seen).toEqual(['1', '1', '2'])
    await sub.cancel()
    await broker.close()
    // The retried copy went back with band 4, not 4 mapped again (2); closing the broker returned it to the queue.
    expect(await amqpPriorityOf(work)).toBe(4)
    await quorum.declare({ name: 'qq' })
    await quorum.publish(envelope('qq', { priority: 9 }))
    expect(await amqpPriorityOf(quorum.queueNames('qq').work)).toBe(9)
    await quorum.close()
  })
})
