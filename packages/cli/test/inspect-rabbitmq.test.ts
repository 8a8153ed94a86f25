import { randomUUID } from 'node:crypto'
import { catalogName, createRabbitMQBroker, DEFAULT_DELAY_LEVELS, queueNames } from '@conveyor/rabbitmq'
import { connect } from 'amqplib'
import { afterAll, describe, expect, it } from 'vitest'
import { conveyorInProcess } from './helpers'

const AMQP_URL = process.env.CONVEYOR_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'
const prefix = `cvt.cli-inspect.${randomUUID().slice(0, 8)}`

afterAll(async () => {
  const model = await connect(AMQP_URL)
  try {
    const channel = await model.createChannel()
    await channel.deleteQueue(catalogName(prefix))
    for (const queue of ['mail', 'poison']) {
      const n = queueNames(prefix, queue, DEFAULT_DELAY_LEVELS)
      for (const name of [n.work, n.dead, ...n.delays.map((d) => d.name)]) await channel.deleteQueue(name)
    }
  } finally {
    await model.close().catch(() => undefined)
  }
})

describe('conveyor inspect queues --broker amqp://…', () => {
  it('lists every queue of the prefix, one that holds only a dead letter included', async () => {
    const broker = createRabbitMQBroker({ url: AMQP_URL, prefix, logger: false })
    const now = Date.now()
    const envelope = (queue: string) => ({
      id: randomUUID(),
      task: 't',
      payload: 1,
      queue,
      priority: 0,
      attempt: 1,
      maxAttempts: 1,
      createdAt: now,
    })
    await broker.declare({ name: 'mail' })
    await broker.publish(envelope('mail'))
    await broker.declare({ name: 'poison' })
    await broker.publish(envelope('poison'))
    let dead!: () => void
    const deadLettered = new Promise<void>((resolve) => (dead = resolve))
    const subscription = await broker.consume('poison', (d) => d.deadLetter('unrecoverable').then(dead), {
      prefetch: 1,
    })
    await deadLettered
    await subscription.cancel()
    await broker.destroy()

    const run = await conveyorInProcess(['inspect', 'queues', '--broker', `${AMQP_URL}?prefix=${prefix}`, '--json'])
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout)).toEqual([
      { queue: 'mail', ready: 1, inFlight: 0, delayed: 0, dead: 0 },
      { queue: 'poison', ready: 0, inFlight: 0, delayed: 0, dead: 1 },
    ])
  })
})
