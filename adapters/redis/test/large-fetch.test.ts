import { envelope, REDIS_URL, uniquePrefix } from '@conveyor/test-support'
import { describe, expect, it } from 'vitest'
import { createRedisBroker } from '../src/index'
import { queueKeys } from '../src/keys'
import { runScript } from '../src/scripts'
import { redisScratch, until } from './helpers'

// A fetch pops its messages first and writes them into flight after; Redis does not roll a script back, so a fetch
// that fails after its pops loses what it took. Large fetches must not fail on size (Lua's unpack stops near 8 000).
const scratch = redisScratch()
const prefixes = scratch.prefixes

const publish = async (count: number) => {
  const prefix = uniquePrefix('large-fetch')
  prefixes.push(prefix)
  const broker = createRedisBroker({ url: REDIS_URL, prefix, logger: false })
  await broker.publishMany!(Array.from({ length: count }, (_, i) => envelope('q', { payload: i })))
  return { prefix, broker }
}

describe('redis large fetches', () => {
  it('the fetch script moves 5 000 messages into flight in one call, none lost', async () => {
    const { prefix, broker } = await publish(5000)
    await broker.close()
    const k = queueKeys(prefix, 'q')
    // The script itself, past the broker's maxBatch cap: it must hold up whatever count it is asked for.
    const reply = (await runScript(
      scratch.raw,
      'fetch',
      [...k.ready, k.delayed, k.inflight, k.leases, k.wake, k.seq],
      [5000, 60_000, 1000],
    )) as [number, unknown, unknown, unknown[]]
    expect(reply[3].length).toBe(3 * 5000)
    expect(await scratch.raw.hlen(k.inflight)).toBe(5000)
    expect(await scratch.raw.zcard(k.leases)).toBe(5000)
  })

  it('a consumer at the maxBatch cap with a large prefetch gets and acks all 5 000', async () => {
    const { prefix, broker } = await publish(5000)
    const consumer = createRedisBroker({ url: REDIS_URL, prefix, maxBatch: 1000, logger: false })
    const seen = new Set<string>()
    const sub = await consumer.consume(
      'q',
      (d) => {
        seen.add(d.envelope.id)
        void d.ack()
      },
      { prefetch: 10_000 },
    )
    await until(() => seen.size === 5000, 20_000, 'all 5 000 delivered')
    await until(async () => (await consumer.stats('q')).inFlight === 0, 10_000, 'all acked')
    await sub.cancel()
    expect(await consumer.stats('q')).toMatchObject({ ready: 0, inFlight: 0 })
    await consumer.close()
    await broker.close()
  }, 40_000)
})
