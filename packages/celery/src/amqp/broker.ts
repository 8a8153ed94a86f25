import {
  type Broker,
  type BrokerCapabilities,
  type CloseOptions,
  type ConsumeOptions,
  type DeliveryHandler,
  type Envelope,
  InvalidOptionsError,
  NotConnectedError,
  type QueueSpec,
  type QueueStats,
  type Subscription,
} from '@conveyor/core'
import { type ChannelModel, connect } from 'amqplib'
import { envelopeToCelery } from '../protocol/message'
import type { CeleryLogger } from '../redis/options'
import { amqpPublishOptions } from './amqp-message'
import { AmqpCeleryConsumer } from './consumer'
import { AmqpCeleryDeadLetters } from './dead-letters'
import { type CeleryAmqpBrokerOptions, deadQueueOf } from './options'
import { ConfirmPublisher } from './publisher'

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

function capabilities(maxPriority: number | undefined): BrokerCapabilities {
  return Object.freeze({
    // Celery's way: ETAs are on the queue at once and held unacked by the consumer until due.
    delayedDelivery: 'emulated',
    priorityLevels: maxPriority === undefined ? 1 : Math.min(10, maxPriority + 1),
    deadLetter: 'emulated',
    deadLetterManagement: true,
    leaseExtension: true,
    // Classic queues say only `redelivered` (counted as 2); quorum queues count exactly.
    deliveryCount: false,
    persistence: true,
    clusterMode: true,
    maxMessageBytes: 16 * 1024 * 1024,
  })
}

/** The socket under an amqplib connection, for `destroy()` (amqplib does not type it). */
const socketOf = (model: ChannelModel) =>
  (model as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream

/**
 * A broker whose queues are Celery queues on RabbitMQ, declared as Celery declares them (a durable queue bound to a
 * direct exchange of the same name), with AMQP properties as Celery sets them. See docs/celery.md.
 */
export function createCeleryAmqpBroker(options: CeleryAmqpBrokerOptions = {}): Broker {
  const { maxPriority } = options
  if (maxPriority !== undefined && !(Number.isInteger(maxPriority) && maxPriority >= 1 && maxPriority <= 255)) {
    throw new InvalidOptionsError(`[celery] maxPriority must be an integer 1–255, got ${maxPriority}`)
  }
  const attempts = options.maxAttempts ?? 1
  if (typeof attempts === 'number' && !(Number.isInteger(attempts) && attempts >= 1)) {
    throw new InvalidOptionsError(`[celery] maxAttempts must be an integer ≥ 1, got ${attempts}`)
  }
  const maxAttempts = typeof attempts === 'function' ? attempts : () => attempts
  const logger: CeleryLogger | undefined =
    options.logger === false ? undefined : (options.logger ?? { warn: (obj, msg) => console.warn(msg, obj) })
  const onError = (error: unknown, what: string) =>
    logger?.warn({ err: error instanceof Error ? error.message : String(error) }, `[conveyor] [celery] ${what}`)
  const owned = options.connection === undefined
  let opening: Promise<{ model: ChannelModel; publisher: ConfirmPublisher }> | undefined
  const consumers = new Set<AmqpCeleryConsumer>()
  const declared = new Set<string>()
  let closed = false

  const open = () => {
    if (closed) return Promise.reject(new NotConnectedError('[celery] the broker is closed'))
    opening ??= (async () => {
      const model = options.connection ?? (await connect(options.url ?? 'amqp://guest:guest@127.0.0.1:5672'))
      model.on('error', (error: unknown) => onError(error, 'connection error'))
      const publisher = new ConfirmPublisher(await model.createConfirmChannel())
      return { model, publisher }
    })()
    opening.catch(() => {
      opening = undefined
    })
    return opening
  }

  const declare = async (spec: QueueSpec) => {
    const { model } = await open()
    const channel = await model.createChannel()
    try {
      const name = spec.name
      await channel.assertExchange(name, 'direct', { durable: true })
      await channel.assertQueue(name, {
        durable: true,
        ...(maxPriority !== undefined ? { arguments: { 'x-max-priority': maxPriority } } : {}),
      })
      await channel.bindQueue(name, name, name)
      await channel.assertQueue(deadQueueOf(name), { durable: true })
      declared.add(name)
    } finally {
      await channel.close().catch(() => undefined)
    }
  }

  const broker: Broker = {
    name: 'celery-amqp',
    capabilities: capabilities(maxPriority),
    async connect() {
      await open()
    },
    async close(closeOptions: CloseOptions = {}) {
      if (closed) return
      await Promise.all([...consumers].map((consumer) => consumer.cancel()))
      const until = Date.now() + (closeOptions.timeoutMs ?? 0)
      while ([...consumers].some((c) => c.held.size > 0) && Date.now() < until) await sleep(20)
      for (const consumer of consumers) {
        await Promise.all([...consumer.held].map((delivery) => delivery.release().catch(() => undefined)))
      }
      closed = true
      const current = await opening?.catch(() => undefined)
      if (current && owned) await current.model.close().catch(() => undefined)
    },
    async destroy() {
      closed = true
      const current = await opening?.catch(() => undefined)
      if (current) socketOf(current.model)?.destroy()
    },
    declare,
    async publish(envelope: Envelope) {
      const { publisher } = await open()
      if (!declared.has(envelope.queue)) await declare({ name: envelope.queue })
      const celery = envelopeToCelery(envelope, envelope.priority)
      const content = Buffer.from(celery.body, 'utf8')
      await publisher.publish('', envelope.queue, content, amqpPublishOptions(celery, envelope.expiresAt))
    },
    async publishRaw(queue: string, body: string) {
      const { publisher } = await open()
      await publisher.publish('', queue, Buffer.from(body, 'utf8'), { deliveryMode: 2 })
    },
    async consume(queue: string, handler: DeliveryHandler, consumeOptions: ConsumeOptions): Promise<Subscription> {
      const { model, publisher } = await open()
      const channel = await model.createChannel()
      const consumer = new AmqpCeleryConsumer(
        { channel, publisher, queue, prefetch: consumeOptions.prefetch, maxAttempts, onError },
        handler,
      )
      await consumer.start()
      consumers.add(consumer)
      return consumer
    },
    async purge(queue: string) {
      const { model } = await open()
      const channel = await model.createChannel()
      try {
        return (await channel.purgeQueue(queue)).messageCount
      } finally {
        await channel.close().catch(() => undefined)
      }
    },
    async stats(queue: string): Promise<QueueStats> {
      const { model } = await open()
      const channel = await model.createChannel()
      try {
        const live = await channel.checkQueue(queue)
        const dead = await channel.checkQueue(deadQueueOf(queue))
        let inFlight = 0
        for (const consumer of consumers) if (consumer.queue === queue) inFlight += consumer.held.size
        return { ready: live.messageCount, inFlight, delayed: 0, dead: dead.messageCount }
      } finally {
        await channel.close().catch(() => undefined)
      }
    },
    deadLetters: new AmqpCeleryDeadLetters(
      async () => (await open()).model,
      async () => (await open()).publisher,
    ),
  }
  return broker
}
