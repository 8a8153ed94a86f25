import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'

export const REDIS_URL = process.env.CONVEYOR_REDIS_URL ?? 'redis://127.0.0.1:6379'
/** Celery's Redis transport and result backend in DB 0, like everybody: tests keep apart by unique queue names. */
export const CELERY_REDIS_URL = `${REDIS_URL}/0`

/** A queue name no other test (or engineer) uses. */
export const uniqueQueue = (what: string) => `cvcelery-${what}-${randomUUID().slice(0, 8)}`
/** A namespace for Conveyor's own keys, per test. */
export const uniqueNamespace = (what: string) => `cvcelery-ns-${what}-${randomUUID().slice(0, 8)}`

export async function rawRedis(): Promise<Redis> {
  const redis = new Redis(CELERY_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null })
  try {
    await redis.connect()
  } catch (error) {
    throw new Error(`Redis is not reachable at ${REDIS_URL}: start redis-server`, { cause: error })
  }
  return redis
}

/** Delete a test's keys: Kombu's lists and binding set of `queue`, Conveyor's keys under `namespace`, result keys. */
export async function cleanRedis(redis: Redis, queue: string, namespace: string, ids: readonly string[] = []) {
  const keys = [queue, `${queue}\x06\x163`, `${queue}\x06\x166`, `${queue}\x06\x169`, `_kombu.binding.${queue}`]
  for (const pattern of [`${namespace}:*`]) {
    let cursor = '0'
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      cursor = next
      keys.push(...found)
    } while (cursor !== '0')
  }
  keys.push(...ids.map((id) => `celery-task-meta-${id}`))
  await redis.unlink(...keys)
}
