import { inspect } from 'node:util'
import { InvalidOptionsError } from '@conveyor/core'
import { deletePrefix, envelope, REDIS_URL, uniquePrefix } from '@conveyor/test-support'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { serverName, splitUrl } from '../src/connection'
import { createRedisBroker, createRedisResultBackend, redisAdapter } from '../src/index'

const prefix = uniquePrefix('options')
const db3 = new Redis(`${REDIS_URL}/3`, { lazyConnect: true })

afterAll(async () => {
  await deletePrefix(db3, prefix)
  db3.disconnect()
})

describe('redis options', () => {
  it('reads prefix and leaseMs from the URL and passes the rest (database, TLS scheme) to ioredis', async () => {
    expect(splitUrl('rediss://user:pw@example.com:6380/2?prefix=billing&leaseMs=15000&family=6')).toEqual({
      url: 'rediss://user:pw@example.com:6380/2?family=6',
      prefix: 'billing',
      leaseMs: 15000,
    })
    const broker = redisAdapter.createBroker(`${REDIS_URL}/3?prefix=${prefix}`)
    await broker.publish(envelope('q'))
    // Landed in database 3 under the prefix, not in database 0.
    expect(await db3.llen(`{${prefix}:q}:r0`)).toBe(1)
    await broker.close()
    expect(redisAdapter.protocols).toEqual(['redis', 'rediss', 'redis+sentinel'])
  })

  it('reads Sentinels, master name, credentials and database from a redis+sentinel:// URL', () => {
    expect(
      splitUrl('redis+sentinel://app:p%40ss@s1:26380,s2,[::1]:26381/orders/2?prefix=billing&leaseMs=9000'),
    ).toEqual({
      sentinel: {
        sentinels: [
          { host: 's1', port: 26380 },
          { host: 's2', port: 26379 },
          { host: '::1', port: 26381 },
        ],
        name: 'orders',
        db: 2,
        username: 'app',
        password: 'p@ss',
      },
      prefix: 'billing',
      leaseMs: 9000,
    })
    // Outage reports name the master and the Sentinels, never the password.
    expect(serverName({ url: 'redis+sentinel://:s3cret@s1:26380,s2/orders' })).toBe(
      'orders via Sentinels s1:26380,s2:26379',
    )
    // A lone user-info part is the password, as in redis://.
    expect(splitUrl('redis+sentinel://s3cret@s1/m').sentinel).toMatchObject({ password: 's3cret', name: 'm' })
    for (const bad of [
      'redis+sentinel://:s3cret@s1:26379',
      'redis+sentinel://:s3cret@s1:x/m',
      'redis+sentinel://s1/m?family=6',
    ]) {
      let thrown: unknown
      try {
        splitUrl(bad)
      } catch (error) {
        thrown = error
      }
      expect(thrown).toBeInstanceOf(InvalidOptionsError)
      expect(String((thrown as Error).message)).not.toContain('s3cret')
    }
  })

  it('a Sentinel URL whose Sentinels cannot be reached fails to connect without showing its password', async () => {
    const broker = createRedisBroker({ url: 'redis+sentinel://:s3cret@127.0.0.1:1/mymaster', logger: false })
    const error = await broker.connect().then(
      () => undefined,
      (e: unknown) => e,
    )
    await broker.destroy()
    expect(error).toMatchObject({ code: 'CONVEYOR_NOT_CONNECTED' })
    expect(inspect(error, { depth: 5 })).not.toContain('s3cret')
  })

  it('rejects durability settings WAIT cannot honour', () => {
    expect(() => createRedisBroker({ durability: { replicas: 0 } })).toThrow(InvalidOptionsError)
    expect(() => createRedisBroker({ durability: { replicas: 1, timeoutMs: 0 } })).toThrow(InvalidOptionsError)
  })

  it('rejects options that cannot work, with InvalidOptionsError', () => {
    expect(() => createRedisBroker({ url: 'amqp://localhost' })).toThrow(InvalidOptionsError)
    expect(() => createRedisBroker({ url: REDIS_URL, redis: { port: 6379 } })).toThrow(InvalidOptionsError)
    expect(() => createRedisBroker({ prefix: 'a{b}' })).toThrow(InvalidOptionsError)
    expect(() => createRedisBroker({ leaseMs: 5 })).toThrow(InvalidOptionsError)
    expect(() => createRedisResultBackend({ url: 'http://x' })).toThrow(InvalidOptionsError)
  })

  it('rejects a maxBatch that is not an integer from 1 to 1000, naming the value', () => {
    for (const maxBatch of [1001, 0, 2.5, Number.NaN, 100_000]) {
      expect(() => createRedisBroker({ maxBatch, logger: false })).toThrow(InvalidOptionsError)
      expect(() => createRedisBroker({ maxBatch, logger: false })).toThrow(`got ${maxBatch}`)
    }
    for (const maxBatch of [1, 1000]) void createRedisBroker({ maxBatch, logger: false }).destroy()
  })

  it('rejects a maxBlockMs that is not a number from 1 to an hour, and a maxMessageBytes that is not an integer ≥ 1', () => {
    // 0 or less blocked forever (BLPOP 0), NaN looped on false outages, more than ~24 days overflowed the stall timer.
    for (const maxBlockMs of [0, -1, 0.4, Number.NaN, Number.POSITIVE_INFINITY, 3_600_001]) {
      expect(() => createRedisBroker({ maxBlockMs, logger: false })).toThrow(InvalidOptionsError)
      expect(() => createRedisBroker({ maxBlockMs, logger: false })).toThrow(`got ${maxBlockMs}`)
    }
    for (const maxMessageBytes of [Number.NaN, 0, -5, 1.5, Number.POSITIVE_INFINITY]) {
      expect(() => createRedisBroker({ maxMessageBytes, logger: false })).toThrow(InvalidOptionsError)
      expect(() => createRedisBroker({ maxMessageBytes, logger: false })).toThrow(`got ${maxMessageBytes}`)
    }
    void createRedisBroker({ maxBlockMs: 1, maxMessageBytes: 1, logger: false }).destroy()
    void createRedisBroker({ maxBlockMs: 3_600_000, logger: false }).destroy()
  })

  it('uses an existing client without closing it, and ioredis options for its own', async () => {
    const client = new Redis(REDIS_URL)
    const broker = createRedisBroker({ client, prefix, logger: false })
    await broker.publish(envelope('own'))
    await broker.close()
    expect(client.status).toBe('ready')
    expect(await client.llen(`{${prefix}:own}:r0`)).toBe(1)
    client.disconnect()
    const viaOptions = createRedisBroker({ redis: { host: '127.0.0.1', port: 6379, db: 3 }, prefix, logger: false })
    expect((await viaOptions.stats('q')).ready).toBe(1)
    await viaOptions.close()
    await new Redis(REDIS_URL).pipeline().del(`{${prefix}:own}:r0`, `{${prefix}:own}:w`).quit().exec()
  })

  it('connect() to an unreachable server rejects with NotConnectedError', async () => {
    const broker = createRedisBroker({
      redis: { host: '127.0.0.1', port: 1, retryStrategy: () => null },
      logger: false,
    })
    await expect(broker.connect()).rejects.toMatchObject({ code: 'CONVEYOR_NOT_CONNECTED' })
    await broker.destroy()
  })
})
