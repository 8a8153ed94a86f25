import { InvalidOptionsError, NotConnectedError } from '@conveyor/core'
import type {
  Broker,
  BrokerCapabilities,
  CloseOptions,
  ConsumeOptions,
  DeliveryHandler,
  Envelope,
  QueueSpec,
  QueueStats,
  Subscription,
} from '@conveyor/core/adapter'
import { sleep } from '@conveyor/core/adapter'
import { type Channel, type ChannelModel, connect } from 'amqplib'
import { envelopeToCelery } from '../protocol/message'
import { attemptsOf, warnerOf } from '../settings'
import { amqpPublishOptions } from './amqp-message'
import { AmqpCeleryConsumer } from './consumer'
import { AmqpCeleryDeadLetters } from './dead-letters'
import { type CeleryAmqpBrokerOptions, deadQueueOf } from './options'
import { ConfirmPublisher } from './publisher'

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

interface Open {
  readonly model: ChannelModel
  readonly publisher: ConfirmPublisher
}

/**
 * A broker whose queues are Celery queues on RabbitMQ, declared as Celery declares them (a durable queue bound to a
 * direct exchange of the same name), with AMQP properties as Celery sets them. See docs/celery.md.
 */
export function createCeleryAmqpBroker(options: CeleryAmqpBrokerOptions = {}): Broker {
  const { maxPriority } = options
  if (maxPriority !== undefined && !(Number.isInteger(maxPriority) && maxPriority >= 1 && maxPriority <= 255)) {
    throw new InvalidOptionsError(`[celery] maxPriority must be an integer 1–255, got ${maxPriority}`)
  }
  return new CeleryAmqpBroker(options)
}

class CeleryAmqpBroker implements Broker {
  readonly name = 'celery-amqp'
  readonly capabilities: BrokerCapabilities
  readonly deadLetters: AmqpCeleryDeadLetters
  private readonly maxAttempts: (task: string) => number
  private readonly onError: (error: unknown, what: string) => void
  private readonly consumers = new Set<AmqpCeleryConsumer>()
  private readonly declared = new Set<string>()
  private opening: Promise<Open> | undefined
  private closed = false

  constructor(private readonly options: CeleryAmqpBrokerOptions) {
    this.capabilities = capabilities(options.maxPriority)
    this.maxAttempts = attemptsOf(options.maxAttempts)
    this.onError = warnerOf(options.logger)
    this.deadLetters = new AmqpCeleryDeadLetters(
      async () => (await this.open()).model,
      async () => (await this.open()).publisher,
    )
  }

  private open(): Promise<Open> {
    if (this.closed) return Promise.reject(new NotConnectedError('[celery] the broker is closed'))
    if (this.opening === undefined) {
      this.opening = (async () => {
        const { connection, url } = this.options
        const model = connection ?? (await connect(url ?? 'amqp://guest:guest@127.0.0.1:5672'))
        model.on('error', (error: unknown) => this.onError(error, 'connection error'))
        return { model, publisher: new ConfirmPublisher(await model.createConfirmChannel()) }
      })()
      this.opening.catch(() => {
        this.opening = undefined
      })
    }
    return this.opening
  }

  /** Run on a channel of its own, closed afterwards. */
  private async withChannel<T>(work: (channel: Channel) => Promise<T>): Promise<T> {
    const channel = await (await this.open()).model.createChannel()
    try {
      return await work(channel)
    } finally {
      await channel.close().catch(() => undefined)
    }
  }

  async connect(): Promise<void> {
    await this.open()
  }

  async close(options: CloseOptions = {}): Promise<void> {
    if (this.closed) return
    const consumers = [...this.consumers]
    await Promise.all(consumers.map((consumer) => consumer.cancel()))
    const until = Date.now() + (options.timeoutMs ?? 0)
    while (consumers.some((c) => c.held.size > 0) && Date.now() < until) await sleep(20)
    for (const consumer of consumers) {
      await Promise.all([...consumer.held].map((delivery) => delivery.release().catch(() => undefined)))
    }
    this.closed = true
    const current = await this.opening?.catch(() => undefined)
    if (current && this.options.connection === undefined) await current.model.close().catch(() => undefined)
  }

  async destroy(): Promise<void> {
    this.closed = true
    const current = await this.opening?.catch(() => undefined)
    if (current) socketOf(current.model)?.destroy()
  }

  /** Declare as Celery does, so both sides' declarations agree; plus Conveyor's dead-letter queue. */
  async declare(spec: QueueSpec): Promise<void> {
    const { maxPriority } = this.options
    await this.withChannel(async (channel) => {
      const name = spec.name
      await channel.assertExchange(name, 'direct', { durable: true })
      await channel.assertQueue(name, {
        durable: true,
        ...(maxPriority !== undefined ? { arguments: { 'x-max-priority': maxPriority } } : {}),
      })
      await channel.bindQueue(name, name, name)
      await channel.assertQueue(deadQueueOf(name), { durable: true })
    })
    this.declared.add(spec.name)
  }

  async publish(envelope: Envelope): Promise<void> {
    const { publisher } = await this.open()
    if (!this.declared.has(envelope.queue)) await this.declare({ name: envelope.queue })
    const celery = envelopeToCelery(envelope, envelope.priority)
    const content = Buffer.from(celery.body, 'utf8')
    await publisher.publish('', envelope.queue, content, amqpPublishOptions(celery, envelope.expiresAt))
  }

  async publishRaw(queue: string, body: string): Promise<void> {
    const { publisher } = await this.open()
    await publisher.publish('', queue, Buffer.from(body, 'utf8'), { deliveryMode: 2 })
  }

  async consume(queue: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<Subscription> {
    const { model, publisher } = await this.open()
    const channel = await model.createChannel()
    const { maxAttempts, onError } = this
    const onFinished = () => this.consumers.delete(consumer)
    const settings = { channel, publisher, queue, prefetch: options.prefetch, maxAttempts, onError, onFinished }
    const consumer: AmqpCeleryConsumer = new AmqpCeleryConsumer(settings, handler)
    await consumer.start()
    this.consumers.add(consumer)
    return consumer
  }

  purge(queue: string): Promise<number> {
    return this.withChannel(async (channel) => (await channel.purgeQueue(queue)).messageCount)
  }

  stats(queue: string): Promise<QueueStats> {
    return this.withChannel(async (channel) => {
      const live = await channel.checkQueue(queue)
      const dead = await channel.checkQueue(deadQueueOf(queue))
      let inFlight = 0
      for (const consumer of this.consumers) if (consumer.queue === queue) inFlight += consumer.held.size
      return { ready: live.messageCount, inFlight, delayed: 0, dead: dead.messageCount }
    })
  }
}
