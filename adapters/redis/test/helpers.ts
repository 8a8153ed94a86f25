import type { BrokerInspector } from '@conveyor/conformance'
import type { DeadLetter } from '@conveyor/core/adapter'
import { deletePrefix, rawRedis, until as waitUntil } from '@conveyor/test-support'
import type { Cluster, Redis } from 'ioredis'
import { afterAll, beforeAll } from 'vitest'
import { queueKeys } from '../src/keys'

export { deletePrefix, envelope, REDIS_URL, rawRedis, sleep, uniquePrefix } from '@conveyor/test-support'

/** Resolve once `check` is true, polling every 5 ms; reject after `timeoutMs` (5 s by default). */
export const until = (check: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition') =>
  waitUntil(check, timeoutMs, what, { everyMs: 5 })

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

/**
 * A file's raw client (`scratch.raw`, connected before its tests) and the prefixes its tests used
 * (`scratch.prefixes.push(prefix)`), deleted after all of them, when the client is closed too.
 */
export function redisScratch(): { readonly raw: Redis; readonly prefixes: string[] } {
  let client: Redis | undefined
  const prefixes: string[] = []
  beforeAll(async () => {
    client = await rawRedis()
  })
  afterAll(async () => {
    if (client === undefined) return
    for (const prefix of prefixes) await deletePrefix(client, prefix)
    client.disconnect()
  })
  return {
    prefixes,
    get raw(): Redis {
      if (client === undefined) throw new Error('redisScratch().raw is connected in beforeAll: use it inside a test')
      return client
    },
  }
}
