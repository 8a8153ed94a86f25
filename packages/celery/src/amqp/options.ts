import type { ChannelModel } from 'amqplib'
import type { CeleryLogger } from '../redis/options'

/** Options of `createCeleryAmqpBroker`: Celery queues on RabbitMQ, declared as Celery declares them. */
export interface CeleryAmqpBrokerOptions {
  /** `amqp://user:pass@host:5672/vhost`, the same as Celery's `broker_url`. Default `amqp://guest:guest@127.0.0.1:5672`. */
  readonly url?: string
  /** An existing amqplib connection (never closed by the broker); instead of `url`. */
  readonly connection?: ChannelModel
  /**
   * `x-max-priority` of the queues this broker declares, as Celery's `task_queue_max_priority`: both sides must
   * declare a queue with the same arguments. Default none (priorities ignored, as Celery's default).
   */
  readonly maxPriority?: number
  /** Attempts allowed per Celery task (see `CeleryRedisBrokerOptions.maxAttempts`). Default 1. */
  readonly maxAttempts?: number | ((task: string) => number)
  /** Default: warnings on the console. `false` silences them. */
  readonly logger?: CeleryLogger | false
}

/** The queue Conveyor keeps a Celery queue's dead letters in (JSON `DeadLetter` bodies). */
export const deadQueueOf = (queue: string): string => `${queue}.conveyor.dead`
