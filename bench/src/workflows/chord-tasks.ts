// The chord bench's tasks, declared once for the producer (the bench) and its worker process.
import { createApp, declareTask } from '@conveyor/core'
import { createRabbitMQBroker } from '@conveyor/rabbitmq'
import { createRedisBroker, createRedisResultBackend } from '@conveyor/redis'
import type { BenchEnv } from '../systems/system'

export const CHORD_QUEUE = 'chord'
/** RabbitMQ delay queues: one level is enough (nothing in the bench is delayed). */
export const CHORD_DELAY_LEVELS = [1000]
/** A member: as little work as Celery's `bench.member` (n → 2n). */
export const member = declareTask<number, number>('bench.member', { queue: CHORD_QUEUE })
/** The callback: the sum of the members' outputs. */
export const total = declareTask<number[], number>('bench.total', { queue: CHORD_QUEUE })

/** Which Conveyor set-up carries the chord; results (and so the counting) are on Redis for both. */
export type ChordBroker = 'redis' | 'rabbitmq'

/** An app on `ns`: messages on `broker`, results and workflow counting in Redis. */
export function chordApp(env: BenchEnv, broker: ChordBroker, ns: string) {
  return createApp({
    broker:
      broker === 'redis'
        ? createRedisBroker({ url: env.redisUrl, prefix: ns, logger: false })
        : createRabbitMQBroker({ url: env.amqpUrl, prefix: ns, delayLevels: CHORD_DELAY_LEVELS, logger: false }),
    results: createRedisResultBackend({ url: env.redisUrl, prefix: ns, logger: false }),
    logger: false,
  })
}
