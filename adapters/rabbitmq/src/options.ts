import { InvalidOptionsError } from '@conveyor/core'
import type { ChannelModel, RecoveringChannelModel, SocketOptions } from 'amqplib'
import type { RabbitMQUrl } from './nodes'

/** The subset of a pino logger the adapter uses; pass `pino()` or any object with these methods. */
export interface RabbitMQLogger {
  debug(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
}

/** RabbitMQ queue flavours the adapter declares. */
export type RabbitMQQueueType = 'classic' | 'quorum'

/** Reconnection backoff, handed to amqplib's connection recovery. */
export interface RabbitMQReconnectOptions {
  /** First reconnect delay. Defaults to 100 ms. */
  readonly initialDelayMs?: number
  /** Longest reconnect delay. Defaults to 10 s. */
  readonly maxDelayMs?: number
  /** Reconnect attempts after a loss before giving up. Defaults to unlimited. */
  readonly maxRetries?: number
  /** Attempts for the very first connection, so a missing server fails fast. Defaults to 2. */
  readonly initialMaxRetries?: number
}

/** Options of `createRabbitMQBroker`. Give one of `url` or `connection`. */
export interface RabbitMQBrokerOptions {
  /**
   * `amqp://user:pass@host:5672/vhost` or `amqps://…`, or amqplib's connect object; for a cluster, a list of the
   * nodes' URLs or one URL with comma-separated hosts (`amqp://user:pass@node1:5672,node2:5672/vhost`): the connection
   * goes to the first node and, each time it is lost or an attempt fails, to the next. The AMQP heartbeat defaults
   * to 5 s (a lost node is noticed within 10–15 s); set another with `?heartbeat=<seconds>` or `heartbeat`.
   */
  readonly url?: RabbitMQUrl
  /** Socket and TLS options (`ca`, `cert`, `key`, `servername`, …) passed to amqplib with `url`. */
  readonly socketOptions?: SocketOptions
  /**
   * An amqplib connection you already hold (plain or created with `recovery`). The broker opens its own channels on
   * it and never closes it. A plain connection that drops is not revived: the broker then rejects with
   * `NotConnectedError`; pass a recovering one to get reconnection.
   */
  readonly connection?: ChannelModel | RecoveringChannelModel
  /** Shown in the management UI and used by `rabbitmqctl close_connection`. Defaults to `conveyor:<prefix>:<pid>`. */
  readonly connectionName?: string
  /** Default queue type for `declare` (override per queue with `declare({ type })`). Defaults to `classic`. */
  readonly queueType?: RabbitMQQueueType
  /** Prepended with a dot to every queue name on the server (`<prefix>.<queue>`). Defaults to `conveyor`. */
  readonly prefix?: string
  /**
   * Delay levels in milliseconds, ascending: one TTL queue per level and per work queue. A delayed message waits in
   * the largest level not longer than its remaining delay, then returns to the work queue and is re-parked until
   * due. Defaults to 100 ms, 500 ms, 2 s, 10 s, 1 min, 5 min, 30 min and 3 h. Changing the list creates new queues.
   */
  readonly delayLevels?: readonly number[]
  /**
   * Priority levels of classic work queues, 1–10. Defaults to 10: `x-max-priority: 10`, every Conveyor priority
   * (0–9) distinct. Fewer levels make RabbitMQ's work per message smaller (each level is a sub-queue on the server):
   * core priorities are then spread evenly over the levels (with 5, priorities 0–1 share level 0, …, 8–9 level 4).
   * 1 declares plain classic queues (FIFO, no `x-max-priority`), the fastest and what Celery declares by default.
   * It is a queue argument: changing it later conflicts with queues already declared. Quorum queues ignore it (their
   * messages carry the envelope's own priority, which RabbitMQ 4 reads as high above 4).
   */
  readonly priorityLevels?: number
  /**
   * Deliveries of one attempt after which the adapter dead-letters the message with reason `max-deliveries` before
   * handing it out. On quorum queues it is also set as `x-delivery-limit`, so the server dead-letters poison messages
   * natively. Absent by default: core's worker enforces its own `maxDeliveries`.
   */
  readonly maxDeliveries?: number
  /** Largest encoded message accepted (RabbitMQ's `max_message_size`). Defaults to 16 MiB. */
  readonly maxMessageBytes?: number
  /**
   * Whether `ack()` resolves only once RabbitMQ has processed the ack. Defaults to `true`: after each burst of acks
   * the consumer channel makes one cheap synchronous call (`basic.qos` with the same prefetch) whose reply proves
   * the server read every ack before it, so a task reported succeeded is never delivered again. `false` resolves
   * once the ack is written to the socket, as raw amqplib does (AMQP acks have no reply): one round trip and its
   * client and server work less per burst, most visible at concurrency 1. The trade: a connection lost right after
   * the write can still redeliver a message whose run already succeeded (at-least-once holds either way; graceful
   * close still waits for every ack's confirmation). docs/adapters/rabbitmq.md, *Ack confirmation*.
   */
  readonly confirmAcks?: boolean
  /** How long a publish may wait for a connection, `drain` or `unblocked` before it rejects. Defaults to 15 s. */
  readonly publishTimeoutMs?: number
  readonly reconnect?: RabbitMQReconnectOptions
  /**
   * The management plugin's HTTP API, e.g. `http://guest:guest@127.0.0.1:15672` (credentials in the URL; never
   * logged). With it `stats()` also reports `oldestReadyAt` (the oldest-waiting gauge and alert), read from the
   * queue's `head_message_timestamp`: exact on classic FIFO queues (`priorityLevels: 1`), the highest non-empty
   * priority's head on priority queues, absent on quorum queues. See docs/adapters/rabbitmq.md. Absent by default:
   * the adapter needs no plugin. URL form: `?managementPort=15672` (same host and credentials as the AMQP URL).
   */
  readonly managementUrl?: string
  /** Pino-compatible logger; `false` for silence. Defaults to one-line console reports of connection loss and recovery. */
  readonly logger?: RabbitMQLogger | false
}

/** Options after defaults and checks. */
export interface ResolvedOptions {
  readonly prefix: string
  readonly queueType: RabbitMQQueueType
  /** Priority levels of classic work queues (1–10). */
  readonly priorityLevels: number
  readonly delayLevels: readonly number[]
  readonly maxDeliveries: number | undefined
  readonly maxMessageBytes: number
  readonly confirmAcks: boolean
  readonly publishTimeoutMs: number
  readonly connectionName: string
  readonly logger: RabbitMQLogger
  readonly managementUrl: string | undefined
}

export const DEFAULT_DELAY_LEVELS: readonly number[] = Object.freeze([
  100, 500, 2_000, 10_000, 60_000, 300_000, 1_800_000, 10_800_000,
])

const silent: RabbitMQLogger = { debug() {}, info() {}, warn() {}, error() {} }

/** One line per report, the cause's message without its stack: outages are operating conditions, not crashes. */
function oneLine(obj: object, msg: string | undefined): string {
  const err = (obj as { err?: unknown }).err
  const why = err instanceof Error ? err.message : err === undefined ? '' : String(err)
  return (why === '' ? (msg ?? '') : `${msg ?? '[conveyor] [rabbitmq]'}: ${why}`).replace(/\s*\n\s*/g, ' ')
}

/** The default: connection loss (warn), recovery (info) and failures on the console; nothing below info. */
const consoleLogger: RabbitMQLogger = {
  debug() {},
  info: (obj, msg) => console.info(oneLine(obj, msg)),
  warn: (obj, msg) => console.warn(oneLine(obj, msg)),
  error: (obj, msg) => console.error(oneLine(obj, msg)),
}

/**
 * The AMQP priority of a Conveyor priority (0–9) on a classic queue with `levels` levels: equal-sized bands, so the
 * order between bands is kept and ties within a band stay FIFO. Undefined for plain queues (no property sent).
 */
export function amqpPriority(priority: number, levels: number): number | undefined {
  if (levels <= 1) return undefined
  return levels >= 10 ? priority : Math.floor((priority * levels) / 10)
}

/** The longest delay Node's timers honour: above it (Infinity too) setTimeout fires after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** Why `publishTimeoutMs` cannot work, or undefined: every wait it bounds is a timer. */
export function badPublishTimeout(value: number): string | undefined {
  if (value > 0 && value <= MAX_TIMER_MS) return undefined
  return `publishTimeoutMs must be > 0 and at most ${MAX_TIMER_MS} ms (the longest timer Node runs), got ${value}`
}

/** Apply defaults and reject options that cannot work, naming the option. */
export function resolveOptions(options: RabbitMQBrokerOptions): ResolvedOptions {
  const bad = (message: string): never => {
    throw new InvalidOptionsError(`[rabbitmq] ${message}`)
  }
  if (options.url === undefined && options.connection === undefined) bad('give `url` or `connection`')
  const prefix = options.prefix ?? 'conveyor'
  if (!/^[\w.:-]*$/.test(prefix)) bad(`prefix may hold letters, digits, "_", ".", ":" and "-", got "${prefix}"`)
  const queueType = options.queueType ?? 'classic'
  if (queueType !== 'classic' && queueType !== 'quorum')
    bad(`queueType must be "classic" or "quorum", got "${queueType}"`)
  const priorityLevels = options.priorityLevels ?? 10
  if (!(Number.isInteger(priorityLevels) && priorityLevels >= 1 && priorityLevels <= 10)) {
    bad(`priorityLevels must be an integer from 1 (plain FIFO queues) to 10, got ${priorityLevels}`)
  }
  const delayLevels = options.delayLevels ?? DEFAULT_DELAY_LEVELS
  if (delayLevels.length === 0) bad('delayLevels needs at least one level')
  delayLevels.forEach((level, i) => {
    if (!Number.isInteger(level) || level < 1) bad(`delayLevels must be integers ≥ 1 ms, got ${level}`)
    if (i > 0 && level <= delayLevels[i - 1]!) bad('delayLevels must be strictly ascending')
  })
  const { maxDeliveries } = options
  if (maxDeliveries !== undefined && !(Number.isInteger(maxDeliveries) && maxDeliveries >= 1)) {
    bad(`maxDeliveries must be an integer ≥ 1, got ${maxDeliveries}`)
  }
  const maxMessageBytes = options.maxMessageBytes ?? 16 * 1024 * 1024
  if (!(Number.isInteger(maxMessageBytes) && maxMessageBytes > 0)) bad('maxMessageBytes must be a positive integer')
  const confirmAcks = options.confirmAcks ?? true
  if (typeof confirmAcks !== 'boolean') bad(`confirmAcks must be true or false, got ${String(confirmAcks)}`)
  const publishTimeoutMs = options.publishTimeoutMs ?? 15_000
  const timeoutProblem = badPublishTimeout(publishTimeoutMs)
  if (timeoutProblem !== undefined) bad(timeoutProblem)
  return {
    prefix,
    queueType,
    priorityLevels,
    delayLevels: [...delayLevels],
    maxDeliveries,
    maxMessageBytes,
    confirmAcks,
    publishTimeoutMs,
    connectionName: options.connectionName ?? `conveyor:${prefix}:${process.pid}`,
    managementUrl: options.managementUrl,
    logger: options.logger === false ? silent : (options.logger ?? consoleLogger),
  }
}
