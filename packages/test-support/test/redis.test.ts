import { describe, expect, it } from 'vitest'
import { rawRedis } from '../src/redis'

describe('rawRedis', () => {
  it('names an unreachable server without the password of its URL (CONVEYOR_REDIS_URL may carry one into CI logs)', async () => {
    // Port 1: nothing listens there, so the connect fails at once.
    const failure = await rawRedis('redis://:s3cr3t-pw@127.0.0.1:1').then(
      () => undefined,
      (error: unknown) => error as Error,
    )
    expect(failure?.message).toContain('127.0.0.1:1')
    expect(failure?.message).not.toContain('s3cr3t-pw')
  })
})
