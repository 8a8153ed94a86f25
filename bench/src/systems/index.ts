import { bullmq } from './bullmq'
import { conveyorMemory } from './conveyor-memory'
import {
  conveyorRabbitMQ,
  conveyorRabbitMQEvents,
  conveyorRabbitMQFifo,
  conveyorRabbitMQFifoUnconfirmed,
  conveyorRabbitMQTraced,
  conveyorRabbitMQUnconfirmed,
} from './conveyor-rabbitmq'
import {
  conveyorRedis,
  conveyorRedisEvents,
  conveyorRedisMetrics,
  conveyorRedisPrefetch,
  conveyorRedisTraced,
} from './conveyor-redis'
import { rawAmqp, rawAmqpSame, rawAmqpSameFifo } from './raw-amqp'
import { rawRedis } from './raw-redis'
import type { BenchSystem } from './system'

/** Every system, in table order: per broker, Conveyor first, then what it is compared against. */
export const SYSTEMS: readonly BenchSystem[] = [
  conveyorRedis,
  conveyorRedisEvents,
  conveyorRedisTraced,
  conveyorRedisMetrics,
  conveyorRedisPrefetch,
  bullmq,
  rawRedis,
  conveyorRabbitMQ,
  rawAmqpSame,
  conveyorRabbitMQFifo,
  rawAmqp,
  rawAmqpSameFifo,
  conveyorRabbitMQUnconfirmed,
  conveyorRabbitMQFifoUnconfirmed,
  conveyorRabbitMQEvents,
  conveyorRabbitMQTraced,
  conveyorMemory,
]

/**
 * Systems picked by `--only`: a system id (`bullmq`), a broker (`redis`, `rabbitmq`, `memory`) or a family
 * (`conveyor`, `raw`), comma-separated. Without `--only`, every system.
 */
export function pickSystems(only: readonly string[]): BenchSystem[] {
  if (only.length === 0) return [...SYSTEMS]
  const picked = SYSTEMS.filter((s) => only.some((o) => o === s.id || o === s.broker || o === s.family))
  const unknown = only.filter((o) => !SYSTEMS.some((s) => o === s.id || o === s.broker || o === s.family))
  if (unknown.length > 0) {
    throw new Error(
      `[bench] --only: unknown ${unknown.join(', ')}; use ${SYSTEMS.map((s) => s.id).join(', ')}, redis, rabbitmq, memory, conveyor, bullmq, raw`,
    )
  }
  return picked
}
