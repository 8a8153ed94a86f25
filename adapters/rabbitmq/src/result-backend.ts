import { randomBytes } from 'node:crypto'
import { InvalidOptionsError, NotConnectedError } from '@conveyor/core'
import type { ResultBackend, ResultWaitOptions, TaskRecord } from '@conveyor/core/adapter'
import type { ChannelModel, RecoveringChannelModel, SocketOptions } from 'amqplib'
import { Connection, connectionSource } from './connection'
import { REPLY_TO_HEADER } from './headers'
import { Loopbacks } from './loopbacks'
import type { RabbitMQUrl } from './nodes'
import { badPublishTimeout, type RabbitMQLogger, type RabbitMQReconnectOptions } from './options'
import { ReplyQueue } from './reply-queue'
import { ReplySender } from './reply-sender'
import { RpcRecordStore } from './result-records'
import { withKillHook } from './test-hooks'

export { REPLY_TO_HEADER } from './headers'

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

const silent: RabbitMQLogger = { debug() {}, info() {}, warn() {}, error() {} }

/**
 * Results sent back to the producer as messages, like Celery's `rpc://` backend. Each instance consumes its own reply
 * queue (`<prefix>.replies.<id>`: exclusive, auto-delete, not durable) and names it in every envelope it enqueues
 * (`conveyor-reply-to`); a worker's `set` publishes the record there through the default exchange. Records are held
 * in the producer's memory only: no other process sees them, and what is sent while the producer is away is lost.
 *
 * The parts: reply-queue.ts consumes this instance's queue into the record store (result-records.ts), reply-sender.ts
 * sends records to the queue their run names, loopbacks.ts tracks records sent to this instance until they are back.
 */
export function createRabbitMQResultBackend(input: RabbitMQResultBackendOptions): RabbitMQResultBackend {
  const options = resolveRpcOptions(input)
  const { logger, publishTimeoutMs } = options
  const instance = randomBytes(8).toString('hex')
  const replyQueue = `${options.prefix}.replies.${instance}`
  const headers = Object.freeze({ [REPLY_TO_HEADER]: replyQueue })
  const store = new RpcRecordStore(options.maxRecords, options.maxTtlMs)
  const connection = new Connection(connectionSource(input), {
    name: options.connectionName,
    part: 'result backend',
    logger,
    setup: async () => {},
  })
  let state: 'idle' | 'connecting' | 'open' | 'closed' = 'idle'
  let connecting: Promise<void> | undefined
  const loopbacks = new Loopbacks(instance)
  const replies = new ReplyQueue({
    connection,
    name: replyQueue,
    store,
    loopbacks,
    publishTimeoutMs,
    logger,
    running: () => state === 'open',
  })
  const sender = new ReplySender({ connection, replyQueue, loopbacks, publishTimeoutMs, logger })

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
        await replies.open()
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
      loopbacks.rejectAll(new NotConnectedError('[rabbitmq] RPC result backend closed'))
      await replies.close()
      await sender.close()
      await connection.close()
    },
    async set(record, setOptions) {
      if (state === 'closed') throw new NotConnectedError('[rabbitmq] RPC result backend is closed; create a new one')
      connection.assertUsable()
      await sender.set(record, setOptions)
    },
    async get(id: string) {
      return store.get(id)
    },
    wait(id: string, waitOptions: ResultWaitOptions): Promise<TaskRecord> {
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
  const timeoutProblem = badPublishTimeout(publishTimeoutMs)
  if (timeoutProblem !== undefined) bad(timeoutProblem)
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
