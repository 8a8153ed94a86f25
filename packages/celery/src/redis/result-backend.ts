import { InvalidOptionsError, NotConnectedError } from '@conveyor/core'
import { type ResultBackend, type ResultSetOptions, safeJsonParse, type TaskRecord } from '@conveyor/core/adapter'
import { Redis } from 'ioredis'
import { celeryMetaToRecord, isCeleryResultMeta, recordToCeleryMeta } from '../protocol/results'
import { Waiters } from '../waiters'
import { defineScripts, runScript } from './scripts'

/** Options of `createCeleryRedisResultBackend`: Celery's Redis result backend (`result_backend = 'redis://…'`). */
export interface CeleryRedisResultBackendOptions {
  /** The server and database of Celery's `result_backend`. Default `redis://127.0.0.1:6379`. */
  readonly url?: string
  /** An existing ioredis client (never closed by the backend); instead of `url`. */
  readonly client?: Redis
  /**
   * Seconds a result is kept, as Celery's `result_expires` (default one day). Conveyor's per-task `resultTtlMs`
   * applies when shorter.
   */
  readonly expiresSeconds?: number
}

/** Celery's key for a result: `celery-task-meta-<id>` (the same name is the pub/sub channel). */
export const celeryResultKey = (id: string): string => `celery-task-meta-${id}`

/**
 * Results in Celery's Redis backend format: Python's `AsyncResult(id).get()` reads what Conveyor workers write, and
 * Conveyor's `job.result()` reads what Celery workers write. `wait` subscribes to the key's channel, then reads.
 */
export function createCeleryRedisResultBackend(options: CeleryRedisResultBackendOptions = {}): ResultBackend {
  const expiresSeconds = options.expiresSeconds ?? 86_400
  if (!(Number.isInteger(expiresSeconds) && expiresSeconds > 0)) {
    throw new InvalidOptionsError(`[celery] expiresSeconds must be an integer > 0, got ${options.expiresSeconds}`)
  }
  const owned = options.client === undefined
  const client =
    options.client ??
    new Redis(options.url ?? 'redis://127.0.0.1:6379', { lazyConnect: true, enableAutoPipelining: true })
  defineScripts(client)
  let subscriber: Redis | undefined
  const waiters = new Waiters()
  let closed = false

  const connect = async () => {
    if (closed) throw new NotConnectedError('[celery] the result backend is closed')
    if (client.status === 'wait') await client.connect()
  }

  const get = async (id: string): Promise<TaskRecord | undefined> => {
    await connect()
    return parse(await client.get(celeryResultKey(id)))
  }

  const subscriberClient = (): Redis => {
    if (subscriber === undefined) {
      const sub = client.duplicate({ lazyConnect: false, enableAutoPipelining: false })
      sub.on('message', (_channel: string, text: string) => {
        const record = parse(text)
        if (record !== undefined) waiters.deliver(record)
      })
      subscriber = sub
    }
    return subscriber
  }

  return {
    name: 'celery-redis-results',
    connect,
    async close() {
      if (closed) return
      closed = true
      waiters.rejectAll(new NotConnectedError('[celery] result backend closed while waiting'))
      subscriber?.disconnect()
      if (owned) await client.quit().catch(() => undefined)
    },
    async set(record: TaskRecord, setOptions: ResultSetOptions) {
      const meta = recordToCeleryMeta(record)
      if (meta === undefined) return
      await connect()
      const ttl = Math.max(1, Math.min(expiresSeconds, Math.ceil(setOptions.ttlMs / 1000)))
      await runScript(client, 'celeryResultSet', [celeryResultKey(record.id)], [JSON.stringify(meta), ttl])
    },
    get,
    async delete(id: string) {
      await connect()
      await client.del(celeryResultKey(id))
    },
    wait(id, waitOptions) {
      const channel = celeryResultKey(id)
      return waiters.wait(id, waitOptions, {
        async onFirst() {
          await connect()
          // Subscribed first, read second: a result written in between is seen by the read or by the message.
          await subscriberClient().subscribe(channel)
          const record = await get(id)
          if (record !== undefined) waiters.deliver(record)
        },
        onLast: () => void subscriber?.unsubscribe(channel).catch(() => undefined),
      })
    },
  }
}

function parse(text: string | null): TaskRecord | undefined {
  if (text === null) return undefined
  let value: unknown
  try {
    value = safeJsonParse(text)
  } catch {
    return undefined
  }
  return isCeleryResultMeta(value) ? celeryMetaToRecord(value) : undefined
}
