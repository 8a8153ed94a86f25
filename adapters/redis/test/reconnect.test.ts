import { envelope, REDIS_URL, sleep, uniquePrefix } from '@conveyor/test-support'
import { describe, expect, it } from 'vitest'
import { createRedisBroker, type RedisLogger } from '../src/index'
import { redisScratch, until } from './helpers'

const scratch = redisScratch()
const prefixes = scratch.prefixes

/** Kill every connection this prefix's adapters opened (main and blocking), as `CLIENT KILL` by an operator would. */
async function killConnections(prefix: string): Promise<number> {
  const list = (await scratch.raw.client('LIST')) as string
  const ids = list
    .split('\n')
    .filter((line) => line.includes(` name=conveyor:${prefix}`))
    .map((line) => /(?:^|\s)id=(\d+)/.exec(line)?.[1])
    .filter((id): id is string => id !== undefined)
  for (const id of ids) await scratch.raw.client('KILL', 'ID', id).catch(() => {})
  return ids.length
}

const spyLogger = () => {
  const errors: string[] = []
  const logger: RedisLogger = { error: (_obj, msg) => errors.push(msg ?? ''), warn: () => {}, info: () => {} }
  return { errors, logger }
}

describe('redis reconnection', () => {
  it('processes every one of 10,000 jobs while its connections are killed mid-stream', async () => {
    const prefix = uniquePrefix('reconnect')
    prefixes.push(prefix)
    const consumerLog = spyLogger()
    const producer = createRedisBroker({ url: REDIS_URL, prefix, leaseMs: 500, logger: false })
    const consumer = createRedisBroker({ url: REDIS_URL, prefix, leaseMs: 500, logger: consumerLog.logger })
    const total = 10_000
    const sent = new Set<string>()
    const seen = new Set<string>()
    let deliveries = 0
    let settleFailures = 0
    await consumer.consume(
      'q',
      (d) => {
        deliveries++
        seen.add(d.envelope.id)
        // Settle a tick later, as a real (trivial) handler would.
        setImmediate(() => d.ack().catch(() => settleFailures++))
      },
      { prefetch: 50 },
    )

    const produce = async () => {
      for (let i = 0; i < total; i += 200) {
        const batch = Array.from({ length: 200 }, (_, j) => envelope('q', { payload: i + j }))
        for (const e of batch) sent.add(e.id)
        // A producer that retries on error: delivery is at-least-once end to end.
        await Promise.all(
          batch.map(async (e) => {
            for (;;) {
              try {
                return await producer.publish(e)
              } catch {
                await sleep(20)
              }
            }
          }),
        )
        await sleep(2)
      }
    }
    const producing = produce()
    let kills = 0
    for (let k = 0; k < 4; k++) {
      await until(() => seen.size >= ((k + 1) * total) / 6, 20_000, `progress before kill ${k + 1}`)
      if ((await killConnections(prefix)) > 0) kills++
    }
    await producing
    await until(() => seen.size === total, 30_000, 'every job processed')
    expect([...sent].every((id) => seen.has(id))).toBe(true)
    await until(
      async () => {
        const stats = await consumer.stats('q')
        return stats.ready === 0 && stats.inFlight === 0 && stats.delayed === 0
      },
      10_000,
      'queue drained',
    )
    expect(kills).toBe(4)
    // Redelivery is allowed (at-least-once), a lost message is not; problems are logged at most once per outage.
    expect(deliveries).toBeGreaterThanOrEqual(total)
    expect(consumerLog.errors.length).toBeLessThanOrEqual(kills)
    await consumer.close()
    await producer.close()
  }, 60_000)

  it('a consumer blocked on an idle queue resumes after its blocking connection is killed', async () => {
    const prefix = uniquePrefix('reblock')
    prefixes.push(prefix)
    const broker = createRedisBroker({ url: REDIS_URL, prefix, leaseMs: 500, logger: false })
    const got: string[] = []
    await broker.consume(
      'q',
      (d) => {
        got.push(d.envelope.id)
        void d.ack()
      },
      { prefetch: 5 },
    )
    await sleep(100)
    expect(await killConnections(prefix)).toBeGreaterThanOrEqual(2)
    await sleep(200)
    const e = envelope('q')
    await broker.publish(e)
    await until(() => got.includes(e.id), 5000, 'delivery after the kill')
    await broker.close()
  })
})

describe('redis restart', () => {
  it('consumers resume by themselves after Redis restarts mid-stream, and every job is processed', async () => {
    const { startPrivateRedis } = await import('./servers')
    const server = await startPrivateRedis()
    try {
      const url = `redis://127.0.0.1:${server.port}`
      const log = spyLogger()
      const producer = createRedisBroker({ url, prefix: 'restart', leaseMs: 500, logger: false })
      const consumer = createRedisBroker({ url, prefix: 'restart', leaseMs: 500, logger: log.logger })
      const total = 10_000
      const sent: string[] = []
      for (let i = 0; i < total; i++) {
        const e = envelope('q', { payload: i })
        sent.push(e.id)
        void producer.publish(e)
      }
      await until(async () => (await producer.stats('q')).ready === total, 10_000, 'all published')
      const seen = new Set<string>()
      await consumer.consume(
        'q',
        (d) => {
          seen.add(d.envelope.id)
          setImmediate(() => d.ack().catch(() => {}))
        },
        { prefetch: 20 },
      )
      await until(() => seen.size >= total / 4, 20_000, 'progress before the restart')
      await server.restart(500)
      await until(() => seen.size === total, 30_000, 'every job processed after the restart')
      expect(sent.every((id) => seen.has(id))).toBe(true)
      // One outage, one error line (not one per job).
      expect(log.errors.length).toBe(1)
      await consumer.close()
      await producer.close()
    } finally {
      await server.stop()
    }
  }, 60_000)
})
