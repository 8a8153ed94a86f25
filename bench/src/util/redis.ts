import { Redis } from 'ioredis'

/** A plain connection for setup, inspection and cleanup (never for the measured path of another system). */
export function redisClient(url: string, name: string): Redis {
  return new Redis(url, { connectionName: name, maxRetriesPerRequest: 3, lazyConnect: false })
}

/** Keys whose name contains `token`, found with SCAN (never KEYS, the server is shared). */
export async function scanKeys(redis: Redis, token: string): Promise<string[]> {
  const found: string[] = []
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `*${token}*`, 'COUNT', 2000)
    found.push(...keys)
    cursor = next
  } while (cursor !== '0')
  return found
}

/** Delete every key carrying `token`. Tokens are unique per run, so this never touches another engineer's keys. */
export async function deleteKeys(redis: Redis, token: string): Promise<number> {
  const keys = await scanKeys(redis, token)
  for (let i = 0; i < keys.length; i += 500) await redis.unlink(...keys.slice(i, i + 500))
  return keys.length
}

/** Bytes Redis attributes to the keys carrying `token` (MEMORY USAGE with full sampling), and how many keys. */
export async function memoryOfKeys(redis: Redis, token: string): Promise<{ bytes: number; keys: number }> {
  const keys = await scanKeys(redis, token)
  let bytes = 0
  for (let i = 0; i < keys.length; i += 1000) {
    const pipeline = redis.pipeline()
    for (const key of keys.slice(i, i + 1000)) pipeline.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')
    for (const [error, size] of (await pipeline.exec()) ?? []) {
      if (error) throw error
      bytes += Number(size ?? 0)
    }
  }
  return { bytes, keys: keys.length }
}

/** `used_memory` from INFO memory: the whole server, so other tenants' activity shows up in it as noise. */
export async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory')
  const match = /^used_memory:(\d+)/m.exec(info)
  if (!match?.[1]) throw new Error('[bench] [redis] INFO memory has no used_memory line')
  return Number(match[1])
}

/** Host and port of a redis:// URL, for clients that take options (BullMQ). */
export function redisTarget(url: string): { host: string; port: number; db: number } {
  const parsed = new URL(url)
  const db = Number(parsed.pathname.slice(1) || '0')
  return { host: parsed.hostname || '127.0.0.1', port: Number(parsed.port || '6379'), db }
}
