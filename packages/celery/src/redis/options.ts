import type { Redis } from 'ioredis'

/** Where connection and consumer trouble is reported. */
export interface CeleryLogger {
  warn(obj: object, msg?: string): void
}

/** Options of `createCeleryRedisBroker`: a Celery queue on Redis in Kombu's layout. */
export interface CeleryRedisBrokerOptions {
  /** `redis://host:port/db`, the same server and database as Celery's `broker_url`. Default `redis://127.0.0.1:6379`. */
  readonly url?: string
  /** An existing ioredis client (never closed by the broker); instead of `url`. */
  readonly client?: Redis
  /** Kombu's `global_keyprefix` transport option, when Celery sets one. Default none. */
  readonly globalKeyPrefix?: string
  /** Prefix of the keys Conveyor keeps beside Kombu's lists (leases, delays, dead letters). Default `conveyor-celery`. */
  readonly namespace?: string
  /**
   * How long a held message stays leased without being extended; a killed worker's messages come back to the queue
   * after about this long. Extended every `leaseMs / 3` while the handler runs. Default 30 000.
   */
  readonly leaseMs?: number
  /** Longest pause between two looks at an idle queue (Kombu producers give nothing to block on). Default 100. */
  readonly pollMs?: number
  /** Most messages one fetch takes. Default 64. */
  readonly maxBatch?: number
  /**
   * Attempts allowed per Celery task, first run included: Celery messages carry no limit (Celery's `max_retries`
   * lives in the worker's code). A number for every task or a function of the task name. Default 1: like Celery, a
   * task that throws fails (FAILURE) unless this says it may be retried.
   */
  readonly maxAttempts?: number | ((task: string) => number)
  /** Default: warnings on the console. `false` silences them. */
  readonly logger?: CeleryLogger | false
}
