import { InvalidOptionsError } from '@conveyor/core'
import { createRabbitMQBroker, rabbitmqAdapter } from '@conveyor/rabbitmq'
import { AMQP_URL, envelope, eventually } from '@conveyor/test-support'
import type { Channel, ConsumeMessage } from 'amqplib'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { BARRIER_AFTER_MS, ChannelAcks } from '../src/acks'
import { cleanup, makeBroker, uniquePrefix } from './helpers'

/** A channel that records what ChannelAcks writes; `prefetch` is the confirmation barrier. */
function fakeChannel({ answer = false } = {}) {
  const calls: string[] = []
  let closed = false
  const channel = {
    ack: (message: ConsumeMessage, multiple: boolean) => {
      if (closed) throw new Error('Channel closed')
      calls.push(`ack ${message.fields.deliveryTag}${multiple ? ' multiple' : ''}`)
    },
    prefetch: () => {
      calls.push('barrier')
      return answer ? Promise.resolve() : new Promise<void>(() => undefined)
    },
  }
  return { channel: channel as unknown as Channel, calls, close: () => (closed = true), isClosed: () => closed }
}

const message = (tag: number) => ({ fields: { deliveryTag: tag } }) as ConsumeMessage

describe('rabbitmq confirmAcks', () => {
  let prefix = ''
  afterEach(async () => {
    vi.useRealTimers()
    await cleanup(prefix)
  })

  it('true (the default): ack() waits for the server; the next delivery proves it, no barrier needed', async () => {
    // The barrier's timer only runs when the test says: proofs are timed by deliveries here, not by the clock.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const fake = fakeChannel()
    const acks = new ChannelAcks(fake.channel, 1, fake.isClosed)
    acks.track(message(1))
    let resolved = false
    void acks.ackOutcome(message(1)).then(() => (resolved = true))
    await new Promise((resolve) => setImmediate(resolve))
    expect(fake.calls).toEqual(['ack 1'])
    expect(resolved).toBe(false)
    // Prefetch 1: tag 2 is sent only once the server processed the settlement of tag 1.
    acks.track(message(2))
    await new Promise((resolve) => setImmediate(resolve))
    expect(resolved).toBe(true)
    expect(fake.calls).toEqual(['ack 1'])
  })

  it('true: a delivery proves only the settlements beyond the prefetch window', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const fake = fakeChannel()
    const acks = new ChannelAcks(fake.channel, 2, fake.isClosed)
    acks.track(message(1))
    acks.track(message(2))
    let first = false
    void acks.ack(message(1)).then(() => (first = true))
    await new Promise((resolve) => setImmediate(resolve))
    let second = false
    void acks.ack(message(2)).then(() => (second = true))
    await new Promise((resolve) => setImmediate(resolve))
    // Tag 3 with prefetch 2: at least one settlement was processed — the first ack, not yet the second.
    acks.track(message(3))
    await new Promise((resolve) => setImmediate(resolve))
    expect([first, second]).toEqual([true, false])
    acks.track(message(4))
    await new Promise((resolve) => setImmediate(resolve))
    expect(second).toBe(true)
    expect(fake.calls).toEqual(['ack 1', 'ack 2'])
  })

  it('true: with no delivery to prove it, a barrier is sent after BARRIER_AFTER_MS; confirmed(true) sends it at once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const fake = fakeChannel({ answer: true })
    const acks = new ChannelAcks(fake.channel, 1, fake.isClosed)
    acks.track(message(1))
    let resolved = false
    const acked = acks.ack(message(1)).then(() => (resolved = true))
    await new Promise((resolve) => setImmediate(resolve))
    vi.advanceTimersByTime(BARRIER_AFTER_MS - 1)
    expect(fake.calls).toEqual(['ack 1'])
    vi.advanceTimersByTime(1)
    await acked
    expect(resolved).toBe(true)
    expect(fake.calls).toEqual(['ack 1', 'barrier'])
    acks.track(message(2))
    void acks.ack(message(2))
    const closing = acks.confirmed(true)
    await new Promise((resolve) => setImmediate(resolve))
    expect(fake.calls).toEqual(['ack 1', 'barrier', 'ack 2', 'barrier'])
    await closing
  })

  it('false: a success ack resolves once written, with no barrier; a closed channel still rejects it', async () => {
    const fake = fakeChannel()
    const acks = new ChannelAcks(fake.channel, 2, fake.isClosed, false)
    acks.track(message(1))
    acks.track(message(2))
    await Promise.all([acks.ackOutcome(message(1)), acks.ackOutcome(message(2))])
    expect(fake.calls).toEqual(['ack 2 multiple'])
    // Graceful close still asks for the confirmation.
    const closing = acks.confirmed(true)
    await new Promise((resolve) => setImmediate(resolve))
    expect(fake.calls).toEqual(['ack 2 multiple', 'barrier'])
    acks.track(message(3))
    fake.close()
    await expect(acks.ackOutcome(message(3))).rejects.toThrow(/channel closed before the ack was written/)
    await expect(closing).rejects.toThrow(/channel closed/)
  })

  it('false: the ack ending a move (retry, dead-letter, release) still waits for the barrier', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const fake = fakeChannel()
    const acks = new ChannelAcks(fake.channel, 1, fake.isClosed, false)
    acks.track(message(1))
    let resolved = false
    void acks.ack(message(1)).then(() => (resolved = true))
    await new Promise((resolve) => setImmediate(resolve))
    vi.advanceTimersByTime(BARRIER_AFTER_MS)
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
