import { NotConnectedError } from '@conveyor/core'
import type {
  Broker,
  BrokerCapabilities,
  CloseOptions,
  ConsumeOptions,
  DeliveryHandler,
  Envelope,
  QueueStats,
  Subscription,
} from '@conveyor/core/adapter'
import { sleep } from '@conveyor/core/adapter'
import { Redis } from 'ioredis'
import { envelopeToCelery } from '../protocol/message'
import { attemptsOf, positive, warnerOf } from '../settings'
import { RedisCeleryConsumer } from './consumer'
import { RedisCeleryDeadLetters } from './dead-letters'
import { type QueueKeys, queueKeys } from './keys'
import { encodeKombu, kombuListIndex, toKombuPriority } from './kombu-layout'
import type { CeleryRedisBrokerOptions } from './options'
import { defineScripts } from './scripts'

const CAPABILITIES: BrokerCapabilities = Object.freeze({
  // ETAs go on the queue at once (Celery workers must see them); Conveyor consumers park early ones in a zset.
  delayedDelivery: 'emulated',
  // Kombu's four priority lists (steps 0, 3, 6, 9).
  priorityLevels: 4,
  deadLetter: 'emulated',
  deadLetterManagement: true,
  leaseExtension: true,
  deliveryCount: true,
  persistence: true,
  clusterMode: false,
  maxMessageBytes: 16 * 1024 * 1024,
})

/**
 * A broker whose queues are Celery queues on Redis, in Kombu's layout: Python's `send_task`/`delay` reach Conveyor
 * workers, and Conveyor's enqueues reach Celery workers. See docs/celery.md for what a mixed fleet gets.
 */
export function createCeleryRedisBroker(options: CeleryRedisBrokerOptions = {}): Broker {
  return new CeleryRedisBroker(options)
}

class CeleryRedisBroker implements Broker {
  readonly name = 'celery-redis'
  readonly capabilities = CAPABILITIES
  readonly deadLetters: RedisCeleryDeadLetters
  private readonly client: Redis
  private readonly owned: boolean
  private readonly leaseMs: number
  private readonly pollMs: number
  private readonly maxBatch: number
  private readonly maxAttempts: (task: string) => number
  private readonly onError: (error: unknown, what: string) => void
  private readonly namespace: string
  private readonly globalKeyPrefix: string
  private readonly keys = new Map<string, QueueKeys>()
  private readonly consumers = new Set<RedisCeleryConsumer>()
  private closed = false

  constructor(options: CeleryRedisBrokerOptions) {
    this.leaseMs = positive('leaseMs', options.leaseMs, 30_000)
    this.pollMs = positive('pollMs', options.pollMs, 100)
    this.maxBatch = positive('maxBatch', options.maxBatch, 64)
    this.maxAttempts = attemptsOf(options.maxAttempts)
    this.namespace = options.namespace ?? 'conveyor-celery'
    this.globalKeyPrefix = options.globalKeyPrefix ?? ''
    this.onError = warnerOf(options.logger)
    this.owned = options.client === undefined
    this.client =
      options.client ??
      new Redis(options.url ?? 'redis://127.0.0.1:6379', { lazyConnect: true, enableAutoPipelining: true })
    // ioredis reconnects by itself; say so instead of its "unhandled error event".
    if (this.owned) this.client.on('error', (error: unknown) => this.onError(error, 'Redis connection error'))
    defineScripts(this.client)
    this.deadLetters = new RedisCeleryDeadLetters(this.client, (queue) => this.keysOf(queue))
  }

  private keysOf(queue: string): QueueKeys {
    let found = this.keys.get(queue)
    if (found === undefined) {
      found = queueKeys(queue, this.namespace, this.globalKeyPrefix)
      this.keys.set(queue, found)
    }
    return found
  }

  async connect(): Promise<void> {
    if (this.closed) throw new NotConnectedError('[celery] the broker is closed')
    if (this.client.status === 'wait') await this.client.connect()
  }

  async close(options: CloseOptions = {}): Promise<void> {
    if (this.closed) return
    this.closed = true
    const consumers = [...this.consumers]
    await Promise.all(consumers.map((consumer) => consumer.cancel()))
    const until = Date.now() + (options.timeoutMs ?? 0)
    while (consumers.some((c) => c.held.size > 0) && Date.now() < until) await sleep(20)
    for (const consumer of consumers) {
      await Promise.all([...consumer.held.values()].map((delivery) => delivery.release().catch(() => undefined)))
      consumer.stop()
    }
    if (this.owned) await this.client.quit().catch(() => undefined)
  }

  async destroy(): Promise<void> {
    this.closed = true
    for (const consumer of this.consumers) consumer.stop()
    this.client.disconnect()
  }

  async declare(): Promise<void> {
    // Kombu's lists exist once something is pushed; nothing to create.
    await this.connect()
  }

  async publish(envelope: Envelope): Promise<void> {
    const kombuPriority = toKombuPriority(envelope.priority)
    const raw = encodeKombu(envelopeToCelery(envelope, kombuPriority), envelope.queue)
    await this.connect()
    await this.client.lpush(this.keysOf(envelope.queue).lists[kombuListIndex(kombuPriority)]!, raw)
  }

  async publishRaw(queue: string, body: string): Promise<void> {
    await this.connect()
    await this.client.lpush(this.keysOf(queue).lists[0]!, body)
  }

  async consume(queue: string, handler: DeliveryHandler, options: ConsumeOptions): Promise<Subscription> {
    await this.connect()
    const { client, leaseMs, pollMs, maxBatch, maxAttempts, onError } = this
    const settings = { client, keys: this.keysOf(queue), queue, prefetch: options.prefetch, leaseMs, pollMs, maxBatch }
    const onFinished = () => this.consumers.delete(consumer)
    const consumer: RedisCeleryConsumer = new RedisCeleryConsumer(
      { ...settings, maxAttempts, onError, onFinished },
      handler,
    )
    this.consumers.add(consumer)
    return consumer
  }

  async purge(queue: string): Promise<number> {
    await this.connect()
    const k = this.keysOf(queue)
    const pipeline = this.client.multi().zcard(k.delayed)
    for (const list of k.lists) pipeline.llen(list)
    const replies = ((await pipeline.del(k.delayed, ...k.lists).exec()) ?? []) as [unknown, number][]
    return replies.slice(0, 1 + k.lists.length).reduce((sum, [, n]) => sum + n, 0)
  }

  async stats(queue: string): Promise<QueueStats> {
    await this.connect()
    const k = this.keysOf(queue)
    const pipeline = this.client.pipeline()
    for (const list of k.lists) pipeline.llen(list)
    pipeline.zcard(k.leases).zcard(k.delayed).llen(k.dead)
    const replies = ((await pipeline.exec()) ?? []).map(([, n]) => Number(n))
    const lists = k.lists.length
    return {
      ready: replies.slice(0, lists).reduce((a, b) => a + b, 0),
      inFlight: replies[lists] ?? 0,
      delayed: replies[lists + 1] ?? 0,
      dead: replies[lists + 2] ?? 0,
    }
  }
}
