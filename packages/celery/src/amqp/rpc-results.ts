import { NotConnectedError } from '@conveyor/core'
import type { ResultBackend, ResultSetOptions, TaskRecord } from '@conveyor/core/adapter'
import type { ChannelModel } from 'amqplib'
import { CORRELATION_ID_HEADER, REPLY_TO_HEADER } from '../protocol/message'
import { recordToCeleryMeta } from '../protocol/results'
import { RpcReplies } from './rpc-replies'
import { ReplyQueue } from './rpc-reply-queue'

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
 * producer's backend, it declares a reply queue of its own (rpc-reply-queue.ts), puts it in `reply_to` of every
 * enqueue, and keeps the replies Celery workers send there for `get`/`wait` (rpc-replies.ts).
 */
export function createCeleryRpcResultBackend(options: CeleryRpcResultBackendOptions = {}): ResultBackend {
  const replies = new RpcReplies(options.maxRecords ?? 10_000)
  const queue = new ReplyQueue({
    url: options.url,
    connection: options.connection,
    expiresMs: options.replyQueueExpiresMs ?? 86_400_000,
    onMessage: replies.onMessage,
  })
  const { waiters } = replies
  return {
    name: 'celery-rpc-results',
    async connect() {
      await queue.open()
    },
    async close() {
      if (queue.closed) return
      const closing = queue.close()
      waiters.rejectAll(new NotConnectedError('[celery] result backend closed while waiting'))
      await closing
    },
    enqueueHeaders: () => ({ [REPLY_TO_HEADER]: queue.name }),
    async set(record: TaskRecord, setOptions: ResultSetOptions) {
      const replyTo = setOptions.envelope?.headers?.[REPLY_TO_HEADER]
      const meta = recordToCeleryMeta(record)
      // Like Celery's RPC backend: no reply queue, nobody to tell.
      if (replyTo === undefined || meta === undefined) return
      const { channel } = await queue.open()
      const { date_done: _done, ...reply } = meta
      channel.publish('', replyTo, Buffer.from(JSON.stringify(reply), 'utf8'), {
        correlationId: setOptions.envelope?.headers?.[CORRELATION_ID_HEADER] ?? record.id,
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        deliveryMode: 1,
      })
    },
    async get(id: string) {
      return replies.get(id)
    },
    async delete(id: string) {
      replies.delete(id)
    },
    wait(id, waitOptions) {
      return waiters.wait(id, waitOptions, {
        async onFirst() {
          await queue.open()
          const record = replies.get(id)
          if (record !== undefined) waiters.deliver(record)
        },
      })
    },
  }
}
