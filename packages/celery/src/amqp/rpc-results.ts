import { randomUUID } from 'node:crypto'
import { NotConnectedError } from '@conveyor/core'
import { type ResultBackend, type ResultSetOptions, safeJsonParse, type TaskRecord } from '@conveyor/core/adapter'
import { type Channel, type ChannelModel, type ConsumeMessage, connect } from 'amqplib'
import { CORRELATION_ID_HEADER, REPLY_TO_HEADER } from '../protocol/message'
import { celeryMetaToRecord, isCeleryResultMeta, recordToCeleryMeta } from '../protocol/results'
import { Waiters } from '../waiters'

/** Options of `createCeleryRpcResultBackend`: Celery's `rpc://` result backend. */
export interface CeleryRpcResultBackendOptions {
  /** The broker's URL. Default `amqp://guest:guest@127.0.0.1:5672`. */
  readonly url?: string
  /** An existing amqplib connection (never closed by the backend); instead of `url`. */
  readonly connection?: ChannelModel
  /** Replies kept in memory for `get` after they arrived (oldest dropped first). Default 10 000. */
  readonly maxRecords?: number
  /** `x-expires` of the reply queue in ms, as Celery's `result_expires`. Default one day. */
  readonly replyQueueExpiresMs?: number
}

/**
 * Celery's RPC result backend, both ways. As a worker's backend, each state is sent to the producer's reply queue
 * (the message's `reply_to`) with the task id as `correlation_id`, so Python's `AsyncResult.get()` gets it. As a
 * producer's backend, it declares a reply queue of its own (non-durable, auto-delete, as Celery's), puts it in
 * `reply_to` of every enqueue, and keeps the replies Celery workers send there for `get`/`wait`.
 */
export function createCeleryRpcResultBackend(options: CeleryRpcResultBackendOptions = {}): ResultBackend {
  const replyQueue = randomUUID()
  const maxRecords = options.maxRecords ?? 10_000
  const records = new Map<string, TaskRecord>()
  const waiters = new Waiters()
  const owned = options.connection === undefined
  let opening: Promise<{ model: ChannelModel; channel: Channel }> | undefined
  let closed = false

  const onReply = (message: ConsumeMessage | null) => {
    if (message === null) return
    let value: unknown
    try {
      value = safeJsonParse(message.content.toString('utf8'))
    } catch {
      return
    }
    if (!isCeleryResultMeta(value)) return
    const id = typeof message.properties.correlationId === 'string' ? message.properties.correlationId : value.task_id
    const record = { ...celeryMetaToRecord(value), id }
    records.delete(id)
    records.set(id, record)
    if (records.size > maxRecords) records.delete(records.keys().next().value as string)
    waiters.deliver(record)
  }

  const open = () => {
    if (closed) return Promise.reject(new NotConnectedError('[celery] the result backend is closed'))
    opening ??= (async () => {
      const model = options.connection ?? (await connect(options.url ?? 'amqp://guest:guest@127.0.0.1:5672'))
      const channel = await model.createChannel()
      await channel.assertQueue(replyQueue, {
        durable: false,
        autoDelete: true,
        arguments: { 'x-expires': options.replyQueueExpiresMs ?? 86_400_000 },
      })
      await channel.consume(replyQueue, onReply, { noAck: true })
      return { model, channel }
    })()
    opening.catch(() => {
      opening = undefined
    })
    return opening
  }

  return {
    name: 'celery-rpc-results',
    async connect() {
      await open()
    },
    async close() {
      if (closed) return
      closed = true
      waiters.rejectAll(new NotConnectedError('[celery] result backend closed while waiting'))
      const current = await opening?.catch(() => undefined)
      if (current === undefined) return
      await current.channel.close().catch(() => undefined)
      if (owned) await current.model.close().catch(() => undefined)
    },
    enqueueHeaders: () => ({ [REPLY_TO_HEADER]: replyQueue }),
    async set(record: TaskRecord, setOptions: ResultSetOptions) {
      const replyTo = setOptions.envelope?.headers?.[REPLY_TO_HEADER]
      const meta = recordToCeleryMeta(record)
      // Like Celery's RPC backend: no reply queue, nobody to tell.
      if (replyTo === undefined || meta === undefined) return
      const { channel } = await open()
      const { date_done: _done, ...reply } = meta
      channel.publish('', replyTo, Buffer.from(JSON.stringify(reply), 'utf8'), {
        correlationId: setOptions.envelope?.headers?.[CORRELATION_ID_HEADER] ?? record.id,
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        deliveryMode: 1,
      })
    },
    async get(id: string) {
      return records.get(id)
    },
    async delete(id: string) {
      records.delete(id)
    },
    wait(id, waitOptions) {
      return waiters.wait(
        id,
        waitOptions,
        async () => {
          await open()
          const record = records.get(id)
          if (record !== undefined) waiters.deliver(record)
        },
        () => undefined,
      )
    },
  }
}
