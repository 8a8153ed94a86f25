import { type Delivery, toErrorInfo } from '@conveyor/core/adapter'
import { deletePrefix, envelope, REDIS_URL, rawRedis, uniquePrefix } from '@conveyor/test-support'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisBroker } from '../src/index'
import { queueKeys } from '../src/keys'
import { until } from './helpers'

let raw: Redis
const prefixes: string[] = []
beforeAll(async () => {
  raw = await rawRedis()
})
afterAll(async () => {
  for (const prefix of prefixes) await deletePrefix(raw, prefix)
  raw.disconnect()
})

describe('redis dead letters, one per run', () => {
  it('stores a second message under a used id as its own entry, even when the held record is unreadable', async () => {
    const prefix = uniquePrefix('harden-dl-once')
    prefixes.push(prefix)
    const broker = createRedisBroker({ url: REDIS_URL, prefix, logger: false })
    const keys = queueKeys(prefix, 'q')
    const first = envelope('q')
    // A record under the id that is not JSON (another tool, an older version): comparing with it must not fail.
    await raw.hset(keys.deadRecords, first.id, 'not json {')
    await raw.zadd(keys.dead, 0, first.id)
    await broker.publish(first)
    const got: Delivery[] = []
    await broker.consume('q', (d) => got.push(d), { prefetch: 1 })
    await until(() => got.length === 1)
    await got[0]!.deadLetter('conformance', toErrorInfo(new Error('x')))
    // The message left the queue and is held as an entry of its own: nothing lost.
    expect(await raw.hlen(keys.inflight)).toBe(0)
    expect(await raw.zcard(keys.dead)).toBe(2)
    await broker.close()
  })
})
