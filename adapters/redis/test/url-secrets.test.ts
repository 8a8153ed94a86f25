import { inspect } from 'node:util'
import { InvalidOptionsError } from '@conveyor/core'
import { describe, expect, it } from 'vitest'
import { createRedisBroker } from '../src/index'
import { parseSentinelUrl } from '../src/sentinel-url'

// Passwords as `openssl rand -base64` makes them hold `/`, `+` and `=`, and some hold `@`; pasted into a URL without
// percent-encoding, the URL does not parse — and the error used to print it whole (core's redaction stopped at `/`).
const unparsable: readonly (readonly [url: string, secret: string])[] = [
  ['redis://:ab/cd+ef==@127.0.0.1:6379', 'cd+ef'],
  ['redis://default:s3cr/et@127.0.0.1:6379', 's3cr'],
  ['rediss://:x9/Qz=@cache.internal:6380/0', 'x9/Qz'],
  ['redis+sentinel://:top/secret@h1:26379/mymaster', 'top/secret'],
  ['redis+sentinel://user:top/secret@h1', 'top'],
]

describe('redis URLs whose password holds / or @', () => {
  it.each(unparsable)('%s: refused with a clear error that does not show the password', (url, secret) => {
    let caught: unknown
    try {
      createRedisBroker({ url, logger: false })
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(InvalidOptionsError)
    expect(inspect(caught, { depth: 8 })).not.toContain(secret)
    expect((caught as Error).message).toMatch(/percent-encode|not a (Sentinel )?URL/)
  })

  it('a Sentinel URL takes its password up to the last @, as redis:// does', () => {
    // The first @ used to end the password: it authenticated with `Sup3r` and named a Sentinel `Secret@127.0.0.1`
    // in every outage log line.
    const { redis } = parseSentinelUrl('redis+sentinel://:Sup3r@Secret@127.0.0.1:26379/mymaster')
    expect(redis.password).toBe('Sup3r@Secret')
    expect(redis.sentinels).toEqual([{ host: '127.0.0.1', port: 26379 }])
  })
})
