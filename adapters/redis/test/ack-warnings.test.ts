import { createApp, type Logger } from '@conveyor/core'
import { deletePrefix, REDIS_URL, rawRedis, sleep, uniquePrefix } from '@conveyor/test-support'
import type { Redis } from 'ioredis'
import { pino } from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createRedisBroker } from '../src/index'
import { queueKeys } from '../src/keys'
import { until } from './helpers'
import { ReplyDroppingProxy } from './reply-dropping-proxy'

let raw: Redis
const prefixes: string[] = []
let proxy: ReplyDroppingProxy | undefined

beforeAll(async () => {
  raw = await rawRedis()
})
afterEach(async () => {
  await proxy?.close()
  proxy = undefined
})
afterAll(async () => {
  for (const prefix of prefixes) await deletePrefix(raw, prefix)
  raw.disconnect()
})

/** A pino logger keeping warnings and errors as "message | error message". */
function recording(): { logger: Logger; lines: string[] } {
  const lines: string[] = []
  const stream = {
    write(line: string) {
      const entry = JSON.parse(line) as { msg?: string; err?: { message?: string } }
      lines.push(`${entry.msg ?? ''}${entry.err?.message ? ` | ${entry.err.message}` : ''}`)
    },
  }
  return { lines, logger: pino({ level: 'warn' }, stream) }
}

const inFlight = (prefix: string, queue: string) => raw.hlen(queueKeys(prefix, queue).inflight)

describe('redis: the "could not ack" warning is true', () => {
  it('says nothing when the ack landed but its answer was lost (the client sent it again after reconnecting)', async () => {
    const prefix = uniquePrefix('harden-ackwarn')
    prefixes.push(prefix)
    proxy = await ReplyDroppingProxy.start(REDIS_URL)
    const { logger, lines } = recording()
    const app = createApp({
      broker: createRedisBroker({ url: proxy.url, prefix, leaseMs: 3_000, logger }),
      results: false,
      logger,
    })
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    let runs = 0
    const job = app.task(
      'ackwarn.job',
      async () => {
        runs++
        await gate
      },
      { queue: 'ackwarn' },
    )
    const worker = app.worker({ queues: ['ackwarn'], concurrency: 1 })
    await worker.start()
    await job.enqueue({})
    await until(() => runs === 1, 10_000, 'the run')
    // The handler returns and its ack runs on Redis, but the worker never hears back; then the connection drops.
    proxy.swallowReplies()
    release()
    await until(async () => (await inFlight(prefix, 'ackwarn')) === 0, 10_000, 'the ack to land')
    proxy.cut()
    await sleep(1_500)
    expect(runs).toBe(1)
    expect(lines.filter((line) => line.includes('could not ack'))).toEqual([])
    await worker.stop()
    await app.close()
  })

  it('says nothing when a stop lets a task finish, or gives one that would not finish back', async () => {
    const prefix = uniquePrefix('harden-ackwarn-stop')
    prefixes.push(prefix)
    const { logger, lines } = recording()
    const app = createApp({
      broker: createRedisBroker({ url: REDIS_URL, prefix, leaseMs: 1_000, logger }),
      results: false,
      logger,
    })
    let started = 0
    const job = app.task(
      'ackwarn.job',
      async (input: { ms: number }, ctx) => {
        started++
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, input.ms)
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(timer)
            resolve(undefined)
          })
        })
      },
      { queue: 'ackwarn' },
    )
    const worker = app.worker({ queues: ['ackwarn'], concurrency: 2 })
    await worker.start()
    await job.enqueue({ ms: 200 })
    await job.enqueue({ ms: 60_000 })
    await until(() => started === 2, 10_000, 'both runs')
    // The short run finishes within the stop's grace; the long one is given back (delivered again elsewhere).
    await worker.stop({ timeoutMs: 500 })
    await app.close()
    await sleep(300)
    expect(lines.filter((line) => line.includes('could not'))).toEqual([])
    expect(await raw.llen(queueKeys(prefix, 'ackwarn').ready[0]!)).toBe(1)
  })

  it('says why when the lease ran out and the message was taken back by another consumer', async () => {
    const prefix = uniquePrefix('harden-ackwarn-lease')
    prefixes.push(prefix)
    proxy = await ReplyDroppingProxy.start(REDIS_URL)
    const { logger, lines } = recording()
    const slow = createApp({
      broker: createRedisBroker({ url: proxy.url, prefix, leaseMs: 300, logger }),
      results: false,
      logger,
    })
    let release: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      release = resolve
    })
    const deliveries: number[] = []
    const register = (app: typeof slow, wait: boolean) =>
      app.task(
        'ackwarn.job',
        async (_input: object, ctx) => {
          deliveries.push(ctx.deliveryCount)
          if (wait) await gate
        },
        { queue: 'ackwarn' },
      )
    const job = register(slow, true)
    await slow.worker({ queues: ['ackwarn'], concurrency: 1 }).start()
    await job.enqueue({})
    await until(() => deliveries.length === 1, 10_000, 'the first run')
    // A partition: the slow worker cannot extend its lease; another worker takes the message back and runs it.
    proxy.swallowReplies()
    const other = createApp({
      broker: createRedisBroker({ url: REDIS_URL, prefix, leaseMs: 300, logger: false }),
      results: false,
      logger: false,
    })
    register(other, false)
    await other.worker({ queues: ['ackwarn'], concurrency: 1 }).start()
    await until(() => deliveries.length === 2, 10_000, 'the run taken back')
    expect(deliveries).toEqual([1, 2])
    proxy.cut()
    release()
    await until(() => lines.some((line) => line.includes('could not ack')), 10_000, 'the warning')
    const warning = lines.find((line) => line.includes('could not ack'))
    expect(warning).toMatch(/lease/)
    expect(warning).toMatch(/took the message back and delivers it again/)
    await other.close()
    await slow.close()
  })
})
