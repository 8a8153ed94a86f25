import { randomUUID } from 'node:crypto'
import type { BrokerInspector } from '@conveyor/conformance'
import type { DeadLetter, Envelope } from '@conveyor/core/adapter'
import { type Cluster, Redis } from 'ioredis'
import { prefixPattern, queueKeys } from '../src/keys'

export const REDIS_URL = process.env.CONVEYOR_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** A key prefix no other test (or engineer) uses. */
export const uniquePrefix = (what: string) => `cvtest-${what}-${randomUUID().slice(0, 8)}`

/** A raw connection for checking side effects in the store; fails loudly when Redis is not there. */
export async function rawRedis(url = REDIS_URL): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null })
  try {
    await redis.connect()
  } catch (error) {
    throw new Error(`Redis is not reachable at ${url}: start redis-server (apt-get install redis-server)`, {
      cause: error,
    })
  }
  return redis
}

/** The conformance suite's raw view of a namespace, read with plain commands on `raw` (a node or a Cluster). */
export function rawInspector(raw: Redis | Cluster, namespace: string, close: () => Promise<void>): BrokerInspector {
  return {
    ready: async (queue) => {
      const keys = queueKeys(namespace, queue)
      const lengths = await Promise.all(keys.ready.map((key) => raw.llen(key)))
      return lengths.reduce((a, b) => a + b, 0)
    },
    deadLetters: async (queue) => {
      const keys = queueKeys(namespace, queue)
      const entries = await raw.zrange(keys.dead, 0, -1)
      if (entries.length === 0) return []
      const records = await raw.hmget(keys.deadRecords, ...entries)
      return records.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as DeadLetter)
    },
    close,
  }
}

/** Delete every key under `prefix` (queues and the queue set), with SCAN, never KEYS. */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  for (const pattern of [prefixPattern(prefix), `${prefix}:*`]) {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) await redis.unlink(...keys)
    } while (cursor !== '0')
  }
}

export function envelope(queue: string, over: Partial<Envelope> = {}): Envelope {
  return {
    id: randomUUID(),
    task: 'test.task',
    payload: { n: 1 },
    queue,
    priority: 0,
    attempt: 1,
    maxAttempts: 3,
    createdAt: Date.now(),
    ...over,
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Resolve once `check` is true, polling; reject after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition') {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(5)
  }
}
