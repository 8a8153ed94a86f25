import { type Delivery, toErrorInfo } from '@conveyor/core/adapter'
import { envelope, REDIS_URL, uniquePrefix } from '@conveyor/test-support'
import { describe, expect, it } from 'vitest'
import { createRedisBroker } from '../src/index'
import { queueKeys } from '../src/keys'
import { redisScratch, until } from './helpers'

const scratch = redisScratch()
const prefixes = scratch.prefixes

describe('redis dead letters, one per run', () => {
  it('stores a second message under a used id as its own entry, even when the held record is unreadable', async () => {
    const prefix = uniquePrefix('harden-dl-once')
    prefixes.push(prefix)
    const broker = createRedisBroker({ url: REDIS_URL, prefix, logger: false })
    const keys = queueKeys(prefix, 'q')
    const first = envelope('q')
    // A record under the id that is not JSON (another tool, an older version): comparing with it must not fail.
    await scratch.raw.hset(keys.deadRecords, first.id, 'not json {')
    await scratch.raw.zadd(keys.dead, 0, first.id)
    await broker.publish(first)
    const got: Delivery[] = []
    await broker.consume('q', (d) => got.push(d), { prefetch: 1 })
    await until(() => got.length === 1)
    await got[0]!.deadLetter('conformance', toErrorInfo(new Error('x')))
    // The message left the queue and is held as an entry of its own: nothing lost.
    expect(await scratch.raw.hlen(keys.inflight)).toBe(0)
    expect(await scratch.raw.zcard(keys.dead)).toBe(2)
    await broker.close()
  })
})
