import {
  type Broker,
  type BrokerCapabilities,
  type CloseOptions,
  type ConsumeOptions,
  type DeliveryHandler,
  type Envelope,
  InvalidOptionsError,
  NotConnectedError,
  type QueueStats,
  type Subscription,
} from '@conveyor/core'
import { Redis } from 'ioredis'
import { envelopeToCelery } from '../protocol/message'
import { type RedisCeleryConsumer as Consumer, RedisCeleryConsumer } from './consumer'
import { RedisCeleryDeadLetters } from './dead-letters'
import { type QueueKeys, queueKeys } from './keys'
import { encodeKombu, kombuListIndex, toKombuPriority } from './kombu-layout'
import type { CeleryLogger, CeleryRedisBrokerOptions } from './options'
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

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!(Number.isInteger(value) && value > 0)) {
    throw new InvalidOptionsError(`[celery] ${name} must be an integer > 0, got ${value}`)
  }
  return value
}

function attemptsOf(option: CeleryRedisBrokerOptions['maxAttempts']): (task: string) => number {
  if (typeof option === 'function') return option
  const n = positive('maxAttempts', option, 1)
  return () => n
}

/**
 * A broker whose queues are Celery queues on Redis, in Kombu's layout: Python's `send_task`/`delay` reach Conveyor
 * workers, and Conveyor's enqueues reach Celery workers. See docs/celery.md for what a mixed fleet gets.
 */
export function createCeleryRedisBroker(options: CeleryRedisBrokerOptions = {}): Broker {
  const leaseMs = positive('leaseMs', options.leaseMs, 30_000)
  const pollMs = positive('pollMs', options.pollMs, 100)
  const maxBatch = positive('maxBatch', options.maxBatch, 64)
  const maxAttempts = attemptsOf(options.maxAttempts)
  const namespace = options.namespace ?? 'conveyor-celery'
  const globalKeyPrefix = options.globalKeyPrefix ?? ''
  const owned = options.client === undefined
  const client =
    options.client ??
    new Redis(options.url ?? 'redis://127.0.0.1:6379', { lazyConnect: true, enableAutoPipelining: true })
  defineScripts(client)
  const logger: CeleryLogger | undefined =
    options.logger === false ? undefined : (options.logger ?? { warn: (obj, msg) => console.warn(msg, obj) })
  const onError = (error: unknown, what: string) =>
    logger?.warn({ err: error instanceof Error ? error.message : String(error) }, `[conveyor] [celery] ${what}`)
  const keys = new Map<string, QueueKeys>()
  const keysOf = (queue: string): QueueKeys => {
    let found = keys.get(queue)
    if (found === undefined) {
      found = queueKeys(queue, namespace, globalKeyPrefix)
      keys.set(queue, found)
    }
    return found
  }
  const consumers = new Set<Consumer>()
  let closed = false

  const connect = async () => {
    if (closed) throw new NotConnectedError('[celery] the broker is closed')
    if (client.status === 'wait') await client.connect()
  }

  const pushRaw = async (queue: string, listIndex: number, raw: string) => {
    await connect()
    await client.lpush(keysOf(queue).lists[listIndex]!, raw)
  }

  const broker: Broker = {
    name: 'celery-redis',
    capabilities: CAPABILITIES,
    connect,
    async close(closeOptions: CloseOptions = {}) {
      if (closed) return
      closed = true
      await Promise.all([...consumers].map((consumer) => consumer.cancel()))
      const until = Date.now() + (closeOptions.timeoutMs ?? 0)
      while ([...consumers].some((c) => c.held.size > 0) && Date.now() < until) await sleep(20)
      for (const consumer of consumers) {
        await Promise.all([...consumer.held.values()].map((delivery) => delivery.release().catch(() => undefined)))
        consumer.stop()
      }
      if (owned) await client.quit().catch(() => undefined)
    },
    async destroy() {
      closed = true
      for (const consumer of consumers) consumer.stop()
      client.disconnect()
    },
    async declare() {
      // Kombu's lists exist once something is pushed; nothing to create.
      await connect()
    },
    async publish(envelope: Envelope) {
      const kombuPriority = toKombuPriority(envelope.priority)
      const raw = encodeKombu(envelopeToCelery(envelope, kombuPriority), envelope.queue)
      await pushRaw(envelope.queue, kombuListIndex(kombuPriority), raw)
    },
    async publishRaw(queue: string, body: string) {
      await pushRaw(queue, 0, body)
    },
    async consume(queue: string, handler: DeliveryHandler, consumeOptions: ConsumeOptions): Promise<Subscription> {
      await connect()
      const consumer = new RedisCeleryConsumer(
        {
          client,
          keys: keysOf(queue),
          queue,
          prefetch: consumeOptions.prefetch,
          leaseMs,
          pollMs,
          maxBatch,
          maxAttempts,
          onError,
        },
        handler,
      )
      consumers.add(consumer)
      return consumer
    },
    async purge(queue: string) {
      await connect()
      const k = keysOf(queue)
      const counts = (await client
        .multi()
        .zcard(k.delayed)
        .llen(k.lists[0]!)
        .llen(k.lists[1]!)
        .llen(k.lists[2]!)
        .llen(k.lists[3]!)
        .del(k.delayed, ...k.lists)
        .exec()) as [unknown, number][]
      return counts.slice(0, 5).reduce((sum, [, n]) => sum + n, 0)
    },
    async stats(queue: string): Promise<QueueStats> {
      await connect()
      const k = keysOf(queue)
      const pipeline = client.pipeline()
      for (const list of k.lists) pipeline.llen(list)
      pipeline.zcard(k.leases).zcard(k.delayed).llen(k.dead)
      const replies = ((await pipeline.exec()) ?? []).map(([, n]) => Number(n))
      return {
        ready: replies.slice(0, 4).reduce((a, b) => a + b, 0),
        inFlight: replies[4] ?? 0,
        delayed: replies[5] ?? 0,
        dead: replies[6] ?? 0,
      }
    },
    deadLetters: new RedisCeleryDeadLetters(client, keysOf),
  }
  return broker
}
