import { redactUrl } from '@conveyor/core/adapter'
import { Redis } from 'ioredis'

export const REDIS_URL = process.env.CONVEYOR_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A raw connection for checking side effects in the store; fails loudly when Redis is not there. */
export async function rawRedis(url = REDIS_URL): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null })
  try {
    await redis.connect()
  } catch (error) {
    throw new Error(`Redis is not reachable at ${redactUrl(url)}: start redis-server (apt-get install redis-server)`, {
      cause: error,
    })
  }
  return redis
}

/** Delete every key under `prefix` (queue keys `{prefix:…}`, coordination, results), with SCAN, never KEYS. */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  const hashTagged = `{${prefix.replace(/[*?[\]\\]/g, '\\$&')}:*`
  for (const pattern of [hashTagged, `${prefix}:*`]) {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) await redis.unlink(...keys)
    } while (cursor !== '0')
  }
}
