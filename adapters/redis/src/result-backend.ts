import { NotConnectedError, ResultTimeoutError } from '@conveyor/core'
import { type ResultBackend, safeJsonParse, type TaskRecord, TERMINAL_STATES } from '@conveyor/core/adapter'
import {
  closeClient,
  connectionOf,
  duplicateClient,
  ensureConnected,
  openClient,
  serverName,
  splitUrl,
} from './connection'
import { resultChannel, resultKey } from './keys'
import { OutageReporter, resolveLogger } from './logger'
import type { RedisClient, RedisResultBackendOptions } from './options'
import { runScript } from './scripts'
import { createRedisTaskHistory } from './task-history'
import { createRedisWorkflowStore } from './workflow-store'

interface Waiter {
  readonly id: string
  readonly resolve: (record: TaskRecord) => void
  readonly reject: (error: unknown) => void
}

interface Channel {
  readonly waiters: Set<Waiter>
  readonly subscribed: Promise<unknown>
}

const parseRecord = (json: string | null): TaskRecord | undefined =>
  json === null ? undefined : (safeJsonParse(json) as TaskRecord)

/**
 * Task records as JSON strings with a TTL. `set` of a terminal state publishes the record on the task's channel in
 * the same script; `wait` subscribes on one shared subscriber connection and then reads the record, so a result
 * written between the two is never missed. Many waiters on one id share one subscription.
 */
export function createRedisResultBackend(options: RedisResultBackendOptions = {}): ResultBackend {
  const prefix = options.prefix ?? (options.url !== undefined ? splitUrl(options.url).prefix : undefined) ?? 'conveyor'
  const logger = resolveLogger(options.logger)
  const { client, owned } = openClient(options, `conveyor:${prefix}:results`)
  const outage = new OutageReporter(logger, 'result backend', serverName(options))
  const onError = (error: unknown) => outage.failed(error)
  client.on('error', onError)
  let subscriber: RedisClient | undefined
  const channels = new Map<string, Channel>()
  let closed = false

  const ensureOpen = () => {
    if (closed) throw new NotConnectedError('[conveyor] [redis] result backend is closed; create a new one')
  }

  const get = async (id: string) => parseRecord(await client.get(resultKey(prefix, id)))

  const finish = (channel: string, record: TaskRecord) => {
    const entry = channels.get(channel)
    if (entry === undefined) return
    channels.delete(channel)
    void subscriber?.unsubscribe(channel).catch(() => {})
    for (const waiter of entry.waiters) waiter.resolve(record)
  }

  const getSubscriber = (): RedisClient => {
    if (subscriber !== undefined) return subscriber
    const sub = duplicateClient(client, `conveyor:${prefix}:results-sub`)
    sub.on('error', (error: unknown) => outage.failed(error))
    sub.on('message', (channel: string, message: string) => {
      const record = parseRecord(message)
      if (record !== undefined && TERMINAL_STATES.has(record.state)) finish(channel, record)
    })
    // ioredis resubscribes after a reconnect; anything finished during the outage was published to nobody, so
    // read every awaited record again.
    sub.on('ready', () => {
      outage.recovered()
      for (const [channel, entry] of channels) {
        const first = entry.waiters.values().next().value
        if (first === undefined) continue
        void get(first.id)
          .then((record) => {
            if (record !== undefined && TERMINAL_STATES.has(record.state)) finish(channel, record)
          })
          .catch(() => {})
      }
    })
    subscriber = sub
    return sub
  }

  const backend: ResultBackend = {
    name: 'redis',
    capabilities: { workflowCounting: 'atomic' },
    workflows: createRedisWorkflowStore(client, prefix),

    taskHistory: (historyOptions) =>
      createRedisTaskHistory({
        ...connectionOf(options),
        prefix,
        ...(historyOptions?.retention !== undefined ? { retention: historyOptions.retention } : {}),
      }),

    async connect() {
      ensureOpen()
      await ensureConnected(client)
    },

    async close() {
      if (closed) return
      closed = true
      for (const entry of channels.values()) {
        for (const waiter of entry.waiters) {
          waiter.reject(new NotConnectedError('[conveyor] [redis] result backend closed while waiting'))
        }
      }
      channels.clear()
      if (subscriber !== undefined) await closeClient(subscriber)
      if (owned) await closeClient(client)
      client.off('error', onError)
    },

    async set(record: TaskRecord, setOptions) {
      ensureOpen()
      const terminal = TERMINAL_STATES.has(record.state)
      const ttl = Math.max(1, Math.ceil(setOptions.ttlMs))
      await runScript(
        client,
        'result-set',
        [resultKey(prefix, record.id)],
        [JSON.stringify(record), ttl, terminal ? resultChannel(prefix, record.id) : ''],
      )
    },

    async get(id: string) {
      ensureOpen()
      return get(id)
    },

    async delete(id: string) {
      ensureOpen()
      await client.del(resultKey(prefix, id))
    },

    wait(id: string, waitOptions) {
      ensureOpen()
      const channel = resultChannel(prefix, id)
      return new Promise<TaskRecord>((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined
        const done = () => {
          if (timer !== undefined) clearTimeout(timer)
          waitOptions.signal?.removeEventListener('abort', onAbort)
        }
        const waiter: Waiter = {
          id,
          resolve: (record) => {
            done()
            resolve(record)
          },
          reject: (error) => {
            done()
            reject(error)
          },
        }
        const leave = (error: unknown) => {
          const entry = channels.get(channel)
          if (entry?.waiters.delete(waiter) && entry.waiters.size === 0) {
            channels.delete(channel)
            void subscriber?.unsubscribe(channel).catch(() => {})
          }
          waiter.reject(error)
        }
        const onAbort = () => leave(waitOptions.signal?.reason ?? new Error('aborted'))
        if (waitOptions.signal?.aborted) {
          reject(waitOptions.signal.reason)
          return
        }
        waitOptions.signal?.addEventListener('abort', onAbort, { once: true })
        timer = setTimeout(() => leave(new ResultTimeoutError(id, waitOptions.timeoutMs)), waitOptions.timeoutMs)

        let entry = channels.get(channel)
        if (entry === undefined) {
          entry = { waiters: new Set(), subscribed: getSubscriber().subscribe(channel) }
          channels.set(channel, entry)
        }
        entry.waiters.add(waiter)
        // Subscribed first, read second: a record written in between is seen by the read or by the message.
        entry.subscribed
          .then(() => get(id))
          .then((record) => {
            if (record !== undefined && TERMINAL_STATES.has(record.state)) finish(channel, record)
          })
          .catch((error: unknown) => leave(error))
      })
    },
  }
  return backend
}
