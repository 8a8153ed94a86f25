import { randomBytes } from 'node:crypto'
import { InvalidOptionsError, NotConnectedError } from '@conveyor/core'
import {
  type ResultBackend,
  type ResultSetOptions,
  type ResultWaitOptions,
  safeJsonParse,
  sleep,
  type TaskRecord,
} from '@conveyor/core/adapter'
import type { Channel, ChannelModel, ConsumeMessage, Options, RecoveringChannelModel, SocketOptions } from 'amqplib'
import { Connection, type ConnectionSource, withDeadline } from './connection'
import type { RabbitMQUrl } from './nodes'
import type { RabbitMQLogger, RabbitMQReconnectOptions } from './options'
import { RpcRecordStore } from './rpc-results-store'
import { withKillHook } from './test-hooks'

/** The envelope header naming the reply queue a run's records go to. */
export const REPLY_TO_HEADER = 'conveyor-reply-to'

/** Options of `createRabbitMQResultBackend`. Give one of `url` or `connection`; producer and worker both use it. */
export interface RabbitMQResultBackendOptions {
  /** As the broker's `url`: one node, a list of a cluster's nodes, or one URL with comma-separated hosts. */
  readonly url?: RabbitMQUrl
  /** Socket and TLS options passed to amqplib with `url`. */
  readonly socketOptions?: SocketOptions
  /**
   * An amqplib connection you already hold (the broker's, say). The backend opens its own channels on it and never
   * closes it; pass one made with `recovery` to get the reply queue back after a reconnect.
   */
  readonly connection?: ChannelModel | RecoveringChannelModel
  /** Defaults to `conveyor:<prefix>:results:<pid>`. */
  readonly connectionName?: string
  readonly reconnect?: RabbitMQReconnectOptions
  /** The reply queue is `<prefix>.replies.<random id>`. Defaults to `conveyor`. */
  readonly prefix?: string
  /** Records kept in memory at most; past it the least recently written are dropped. Defaults to 10 000. */
  readonly maxRecords?: number
  /**
   * Longest a received record is kept, whatever `resultTtlMs` the worker sent (the shorter of the two applies).
   * Defaults to 1 hour: the records live in the producer's memory.
   */
  readonly maxTtlMs?: number
  /** How long `set` waits for a connection (or for a full write buffer to drain) before it rejects. Defaults to 15 s. */
  readonly publishTimeoutMs?: number
  /** Pino-compatible logger; silent when absent. */
  readonly logger?: RabbitMQLogger | false
}

/** The RPC result backend: what `createRabbitMQResultBackend` returns. */
export interface RabbitMQResultBackend extends ResultBackend {
  /** This instance's reply queue: records of the runs it enqueued are sent here. */
  readonly replyQueue: string
  enqueueHeaders(): Readonly<Record<string, string>>
}

/** What travels on the reply queue: the record and how long the worker asked it to be kept. */
interface ReplyMessage {
  readonly v: 1
  readonly ttlMs: number
  readonly record: TaskRecord
}

const silent: RabbitMQLogger = { debug() {}, info() {}, warn() {}, error() {} }
const LOG = '[conveyor] [rabbitmq] RPC results:'

/**
 * Results sent back to the producer as messages, like Celery's `rpc://` backend. Each instance consumes its own reply
 * queue (`<prefix>.replies.<id>`: exclusive, auto-delete, not durable) and names it in every envelope it enqueues
 * (`conveyor-reply-to`); a worker's `set` publishes the record there through the default exchange. Records are held
 * in the producer's memory only: no other process sees them, and what is sent while the producer is away is lost.
 */
export function createRabbitMQResultBackend(input: RabbitMQResultBackendOptions): RabbitMQResultBackend {
  const options = resolveRpcOptions(input)
  const { logger } = options
  const instance = randomBytes(8).toString('hex')
  const replyQueue = `${options.prefix}.replies.${instance}`
  const headers = Object.freeze({ [REPLY_TO_HEADER]: replyQueue })
  const store = new RpcRecordStore(options.maxRecords, options.maxTtlMs)
  const source: ConnectionSource = input.connection
    ? { connection: input.connection }
    : {
        url: input.url!,
        ...(input.socketOptions ? { socketOptions: input.socketOptions } : {}),
        ...(input.reconnect ? { reconnect: input.reconnect } : {}),
      }
  const connection = new Connection(source, {
    name: options.connectionName,
    part: 'result backend',
    logger,
    setup: async () => {},
  })
  let state: 'idle' | 'connecting' | 'open' | 'closed' = 'idle'
  let connecting: Promise<void> | undefined
  let replies: Channel | undefined
  let reopening = false
  let publishing: Promise<Channel> | undefined
  /** Sets addressed to this instance, resolved when their message has come back (so `get` right after sees it). */
  const loopbacks = new Map<string, { resolve: () => void; reject: (error: unknown) => void }>()
  let seq = 0

  const ensureOpen = () => {
    if (state === 'closed') throw new NotConnectedError('[rabbitmq] RPC result backend is closed; create a new one')
    connection.assertUsable()
  }

  const onReply = (channel: Channel, message: ConsumeMessage | null) => {
    if (message === null) {
      // The server cancelled our consumer (the queue was deleted): declare it again on a new channel.
      void channel.close().catch(() => {})
      return
    }
    const reply = decodeReply(message.content)
    if (reply === undefined) {
      logger.warn({ queue: replyQueue, bytes: message.content.length }, `${LOG} ignoring a malformed reply`)
    } else {
      store.put(reply.record, reply.ttlMs)
    }
    const correlationId = message.properties.correlationId as string | undefined
    if (correlationId !== undefined) loopbacks.get(correlationId)?.resolve()
  }

  const openReplies = async (): Promise<void> => {
    const channel = await connection.channel(Date.now() + options.publishTimeoutMs)
    channel.on('error', (error: Error) => logger.warn({ err: error, queue: replyQueue }, `${LOG} reply channel error`))
    channel.on('close', () => {
      if (replies === channel) replies = undefined
      if (state === 'open') void reopenReplies()
    })
    try {
      // Exclusive: it dies with this connection, so a producer that is gone leaves nothing behind. After a
      // reconnect the same name is declared again (the envelopes in flight carry it).
      await channel.assertQueue(replyQueue, { exclusive: true, autoDelete: true, durable: false })
      await channel.consume(replyQueue, (message) => onReply(channel, message), { noAck: true })
      replies = channel
    } catch (error) {
      await channel.close().catch(() => {})
      throw error
    }
  }

  const reopenReplies = async (): Promise<void> => {
    if (reopening) return
    reopening = true
    try {
      for (let attempt = 0; state === 'open' && replies === undefined; attempt++) {
        try {
          await openReplies()
          logger.info({ queue: replyQueue }, `${LOG} reply queue back`)
        } catch (error) {
          if (!connection.usable) return
          // Typically RESOURCE_LOCKED: the server has not yet noticed that our old connection, which owned the queue, died.
          logger.warn({ err: error, queue: replyQueue }, `${LOG} re-declaring the reply queue failed`)
          await sleep(Math.min(5_000, 100 * 2 ** attempt))
        }
      }
    } finally {
      reopening = false
    }
  }

  const publishChannel = (): Promise<Channel> => {
    if (publishing !== undefined) return publishing
    const opened: Promise<Channel> = connection.channel(Date.now() + options.publishTimeoutMs).then(
      (channel) => {
        channel.on('error', (error: Error) => logger.warn({ err: error }, `${LOG} publish channel error`))
        channel.on('close', () => {
          if (publishing === opened) publishing = undefined
        })
        // Mandatory, so a reply queue that is gone (its producer stopped) is reported here instead of vanishing.
        channel.on('return', (message: ConsumeMessage) => {
          logger.debug(
            { queue: message.fields.routingKey, taskId: message.properties.messageId },
            `${LOG} reply queue gone (its producer stopped); record dropped`,
          )
          const correlationId = message.properties.correlationId as string | undefined
          if (correlationId === undefined) return
          loopbacks
            .get(correlationId)
            ?.reject(new NotConnectedError('[rabbitmq] RPC results: own reply queue missing (reconnecting?)'))
        })
        return channel
      },
      (error: unknown) => {
        if (publishing === opened) publishing = undefined
        throw error
      },
    )
    publishing = opened
    return opened
  }

  const send = async (target: string, body: Buffer, record: TaskRecord, correlationId?: string) => {
    const deadline = Date.now() + options.publishTimeoutMs
    const properties: Options.Publish = {
      mandatory: true,
      persistent: false,
      contentType: 'application/json',
      type: 'conveyor.task-record',
      messageId: record.id,
      ...(correlationId !== undefined ? { correlationId } : {}),
    }
    let channel = await publishChannel()
    let fits: boolean
    try {
      fits = channel.publish('', target, body, properties)
    } catch {
      // The channel closed under us (amqplib throws on a closed channel): once more on a fresh one.
      publishing = undefined
      channel = await publishChannel()
      fits = channel.publish('', target, body, properties)
    }
    // amqplib buffers past its high-water mark; wait for room rather than buffer without bound.
    if (!fits) {
      const drained = new Promise<void>((resolve) => {
        const done = () => {
          channel.off('drain', done)
          channel.off('close', done)
          resolve()
        }
        channel.on('drain', done)
        channel.on('close', done)
      })
      await withDeadline(drained, deadline, 'the reply channel to drain')
    }
  }

  const backend: RabbitMQResultBackend = {
    name: 'rabbitmq-rpc',
    // Records live in one producer's memory: no store every worker shares, so nothing to count members in.
    capabilities: { workflowCounting: 'none' },
    replyQueue,
    connect() {
      if (state === 'closed') return Promise.reject(new NotConnectedError('[rabbitmq] RPC result backend is closed'))
      connecting ??= (async () => {
        state = 'connecting'
        await connection.open()
        await openReplies()
        state = 'open'
      })().catch((error: unknown) => {
        connecting = undefined
        if (state === 'connecting') state = 'idle'
        throw error
      })
      return connecting
    },
    async close() {
      if (state === 'closed') return
      state = 'closed'
      store.close()
      const closed = new NotConnectedError('[rabbitmq] RPC result backend closed')
      for (const loopback of loopbacks.values()) loopback.reject(closed)
      loopbacks.clear()
      const channel = replies
      replies = undefined
      // Delete the queue ourselves: a connection the user handed us stays open, and with it an exclusive queue.
      if (channel !== undefined) await channel.deleteQueue(replyQueue).catch(() => {})
      await channel?.close().catch(() => {})
      const pub = publishing
      publishing = undefined
      await pub?.then((c) => c.close()).catch(() => {})
      await connection.close()
    },
    async set(record: TaskRecord, setOptions: ResultSetOptions) {
      ensureOpen()
      const { envelope, ttlMs } = setOptions
      // A direct set (no run behind it) addresses this instance: it still goes through the server, so the wire is
      // what gets exercised, and resolves once it is back.
      const target = envelope === undefined ? replyQueue : envelope.headers?.[REPLY_TO_HEADER]
      if (target === undefined) {
        logger.debug(
          { taskId: record.id, state: record.state },
          `${LOG} the run names no reply queue (enqueued without this backend); record not sent`,
        )
        return
      }
      if (typeof target !== 'string' || target.length === 0 || Buffer.byteLength(target) > 255) {
        logger.warn({ taskId: record.id, target }, `${LOG} the run's reply queue is not a queue name; record not sent`)
        return
      }
      const body = Buffer.from(JSON.stringify({ v: 1, ttlMs, record } satisfies ReplyMessage), 'utf8')
      if (target !== replyQueue) return send(target, body, record)
      const correlationId = `${instance}.${++seq}`
      const back = new Promise<void>((resolve, reject) => loopbacks.set(correlationId, { resolve, reject }))
      back.catch(() => {}) // awaited below; this only keeps a rejection during `send` from counting as unhandled
      try {
        await send(target, body, record, correlationId)
        await withDeadline(back, Date.now() + options.publishTimeoutMs, 'the record to come back on the reply queue')
      } finally {
        loopbacks.delete(correlationId)
      }
    },
    async get(id: string) {
      return store.get(id)
    },
    wait(id: string, waitOptions: ResultWaitOptions) {
      if (state === 'closed') return Promise.reject(new NotConnectedError('[rabbitmq] RPC result backend is closed'))
      return store.wait(id, waitOptions)
    },
    async delete(id: string) {
      store.delete(id)
    },
    enqueueHeaders: () => headers,
  }
  return withKillHook(backend, () => connection.killSocket())
}

/** The reply message, or undefined when it is not one (never trusted: anybody may publish to the queue). */
function decodeReply(content: Buffer): ReplyMessage | undefined {
  let parsed: unknown
  try {
    parsed = safeJsonParse(content.toString('utf8'))
  } catch {
    return undefined
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined
  const { ttlMs, record } = parsed as Partial<ReplyMessage>
  if (typeof ttlMs !== 'number' || !(ttlMs > 0)) return undefined
  if (typeof record !== 'object' || record === null) return undefined
  if (typeof record.id !== 'string' || typeof record.state !== 'string') return undefined
  return { v: 1, ttlMs, record }
}

function resolveRpcOptions(options: RabbitMQResultBackendOptions) {
  const bad = (message: string): never => {
    throw new InvalidOptionsError(`[rabbitmq] RPC results: ${message}`)
  }
  if (options.url === undefined && options.connection === undefined) bad('give `url` or `connection`')
  const prefix = options.prefix ?? 'conveyor'
  if (!/^[\w.:-]*$/.test(prefix)) bad(`prefix may hold letters, digits, "_", ".", ":" and "-", got "${prefix}"`)
  const maxRecords = options.maxRecords ?? 10_000
  if (!(Number.isInteger(maxRecords) && maxRecords >= 1)) bad(`maxRecords must be an integer ≥ 1, got ${maxRecords}`)
  const maxTtlMs = options.maxTtlMs ?? 3_600_000
  if (!(maxTtlMs > 0)) bad(`maxTtlMs must be > 0, got ${maxTtlMs}`)
  const publishTimeoutMs = options.publishTimeoutMs ?? 15_000
  if (!(publishTimeoutMs > 0)) bad(`publishTimeoutMs must be > 0, got ${publishTimeoutMs}`)
  return {
    prefix,
    maxRecords,
    maxTtlMs,
    publishTimeoutMs,
    connectionName: options.connectionName ?? `conveyor:${prefix}:results:${process.pid}`,
    logger: options.logger ? options.logger : silent,
  }
}

/** @deprecated Use `createRabbitMQResultBackend` (every result backend is `create<Store>ResultBackend`); removed in the next minor release. */
export const createRabbitMQRpcResults = createRabbitMQResultBackend
/** @deprecated Use `RabbitMQResultBackendOptions`. */
export type RabbitMQRpcResultsOptions = RabbitMQResultBackendOptions
/** @deprecated Use `RabbitMQResultBackend`. */
export type RabbitMQRpcResults = RabbitMQResultBackend
