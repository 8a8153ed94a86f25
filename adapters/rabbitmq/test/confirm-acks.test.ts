import { InvalidOptionsError } from '@conveyor/core'
import { createRabbitMQBroker, rabbitmqAdapter } from '@conveyor/rabbitmq'
import type { Channel, ConsumeMessage } from 'amqplib'
import { afterEach, describe, expect, it } from 'vitest'
import { ChannelAcks } from '../src/acks'
import { AMQP_URL, cleanup, envelope, eventually, makeBroker, uniquePrefix } from './helpers'

/** A channel that records what ChannelAcks writes; `prefetch` is the confirmation barrier. */
function fakeChannel() {
  const calls: string[] = []
  let closed = false
  const channel = {
    ack: (message: ConsumeMessage, multiple: boolean) => {
      if (closed) throw new Error('Channel closed')
      calls.push(`ack ${message.fields.deliveryTag}${multiple ? ' multiple' : ''}`)
    },
    prefetch: () => {
      calls.push('barrier')
      return new Promise<void>(() => undefined)
    },
  }
  return { channel: channel as unknown as Channel, calls, close: () => (closed = true), isClosed: () => closed }
}

const message = (tag: number) => ({ fields: { deliveryTag: tag } }) as ConsumeMessage

describe('rabbitmq confirmAcks', () => {
  let prefix = ''
  afterEach(async () => cleanup(prefix))

  it('true (the default): ack() waits for the barrier the server answers', async () => {
    const fake = fakeChannel()
    const acks = new ChannelAcks(fake.channel, 1, fake.isClosed)
    acks.track(message(1))
    let resolved = false
    void acks.ackOutcome(message(1)).then(() => (resolved = true))
    await new Promise((resolve) => setImmediate(resolve))
    expect(fake.calls).toEqual(['ack 1', 'barrier'])
    expect(resolved).toBe(false)
  })

  it('false: a success ack resolves once written, with no barrier; a closed channel still rejects it', async () => {
    const fake = fakeChannel()
    const acks = new ChannelAcks(fake.channel, 2, fake.isClosed, false)
    acks.track(message(1))
    acks.track(message(2))
    await Promise.all([acks.ackOutcome(message(1)), acks.ackOutcome(message(2))])
    expect(fake.calls).toEqual(['ack 2 multiple'])
    // Graceful close still asks for the confirmation.
    void acks.confirmed()
    await new Promise((resolve) => setImmediate(resolve))
    expect(fake.calls).toEqual(['ack 2 multiple', 'barrier'])
    acks.track(message(3))
    fake.close()
    await expect(acks.ackOutcome(message(3))).rejects.toThrow(/channel closed before the ack was written/)
  })

  it('false: the ack ending a move (retry, dead-letter, release) still waits for the barrier', async () => {
    const fake = fakeChannel()
    const acks = new ChannelAcks(fake.channel, 1, fake.isClosed, false)
    acks.track(message(1))
    let resolved = false
    void acks.ack(message(1)).then(() => (resolved = true))
    await new Promise((resolve) => setImmediate(resolve))
    expect(fake.calls).toEqual(['ack 1', 'barrier'])
    expect(resolved).toBe(false)
  })

  it('false on a real broker: acked messages are gone, the rest stay', async () => {
    prefix = uniquePrefix('noconfirm')
    const broker = makeBroker(prefix, { confirmAcks: false })
    await broker.declare({ name: 'q' })
    for (let i = 0; i < 3; i++) await broker.publish(envelope('q', { payload: { i } }))
    const seen: number[] = []
    const acked: Promise<void>[] = []
    const sub = await broker.consume(
      'q',
      (delivery) => {
        const i = (delivery.envelope.payload as { i: number }).i
        seen.push(i)
        if (i !== 1) acked.push(delivery.ack())
      },
      { prefetch: 3 },
    )
    await eventually(() => seen.length === 3, 10_000, 'three deliveries')
    await Promise.all(acked)
    await eventually(async () => (await broker.stats('q')).ready === 0, 10_000, 'nothing ready')
    await sub.cancel()
    await broker.close()
    // The unacked one comes back to a new consumer; the acked ones do not.
    const again = makeBroker(prefix)
    const back: number[] = []
    await again.consume(
      'q',
      (delivery) => {
        back.push((delivery.envelope.payload as { i: number }).i)
        acked.push(delivery.ack())
      },
      { prefetch: 3 },
    )
    await eventually(() => back.length === 1, 10_000, 'the unacked message again')
    expect(back).toEqual([1])
    await Promise.all(acked)
  })

  it('is checked, and read from the URL', async () => {
    expect(() => createRabbitMQBroker({ url: AMQP_URL, confirmAcks: 'no' as unknown as boolean })).toThrow(
      InvalidOptionsError,
    )
    expect(() => rabbitmqAdapter.createBroker(`${AMQP_URL}?confirmAcks=maybe`)).toThrow(
      /confirmAcks must be true or false/,
    )
    prefix = uniquePrefix('noconfirm-url')
    const broker = rabbitmqAdapter.createBroker(`${AMQP_URL}?prefix=${prefix}&confirmAcks=false`)
    await broker.close()
  })
})
