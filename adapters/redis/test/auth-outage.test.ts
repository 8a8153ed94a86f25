import { createApp, NotConnectedError } from '@conveyor/core'
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import { captureLogger } from '../../../packages/core/test/helpers'
import { createRedisBroker, redisAdapter } from '../src/index'
import { until } from './helpers'
import { type PrivateRedis, startPrivateRedis } from './servers'

let server: PrivateRedis | undefined
afterEach(async () => {
  await server?.stop()
  server = undefined
})

describe('redis: what an operator reads', { timeout: 60_000 }, () => {
  it('a wrong password is one line saying "authentication failed", without the password', async () => {
    server = await startPrivateRedis()
    const admin = new Redis({ port: server.port, host: '127.0.0.1' })
    await admin.config('SET', 'requirepass', 'right-password')
    admin.disconnect()
    const broker = createRedisBroker({ url: `redis://:wrong-password@127.0.0.1:${server.port}`, logger: false })
    const error = await broker.connect().then(
      () => undefined,
      (e: unknown) => e,
    )
    await broker.destroy()
    expect(error).toBeInstanceOf(NotConnectedError)
    expect((error as Error).message).toMatch(/^\[conveyor\] \[redis\] authentication failed \(WRONGPASS/)
    expect((error as Error).message).not.toContain('\n')
    expect((error as Error).message).not.toContain('wrong-password')
  })

  it('an outage is logged once when lost and once when back, with its length, for an app built from a URL', async () => {
    server = await startPrivateRedis()
    const { lines, logger } = captureLogger()
    const url = `redis://127.0.0.1:${server.port}?leaseMs=1000`
    const app = createApp({ broker: url, results: false, adapters: [redisAdapter], logger })
    const done: number[] = []
    app.task('t', (input: number) => {
      done.push(input)
    })
    try {
      await app.worker({ queues: ['default'] }).start()
      await app.enqueue('t', 1)
      await until(() => done.length === 1, 5000, 'the first run')
      await server.restart(1_500)
      await app.enqueue('t', 2)
      await until(() => done.length === 2, 20_000, 'the run after the outage')
      await until(() => lines.some((l) => /reachable again/.test(String(l.msg))), 5000, 'the recovery line')
      const lost = lines.filter((l) => /connection to Redis lost/.test(String(l.msg)))
      const back = lines.filter((l) => /reachable again/.test(String(l.msg)))
      expect(lost).toHaveLength(1)
      expect(back).toHaveLength(1)
      expect(back[0]!.outageMs).toBeGreaterThanOrEqual(1_000)
      expect(String(back[0]!.msg)).toMatch(/after \d+(\.\d)? s/)
    } finally {
      await app.close()
    }
  })

  it('an outage of the one server behind broker and results is one line lost and one back, naming both', async () => {
    // A password-protected user, so the test can also check that no line shows the password.
    server = await startPrivateRedis(undefined, ['--user', 'harden', 'on', '>outage-secret', '~*', '&*', '+@all'])
    const { lines, logger } = captureLogger()
    const url = `redis://harden:outage-secret@127.0.0.1:${server.port}?leaseMs=1000`
    const app = createApp({ broker: url, results: url, adapters: [redisAdapter], logger })
    let open: () => void = () => {}
    const gate = new Promise<void>((resolve) => {
      open = resolve
    })
    const job = app.task('t', async (input: number) => {
      await gate
      return input * 2
    })
    try {
      await app.worker({ queues: ['default'] }).start()
      const handle = await job.enqueue(21)
      // A waiter keeps the result backend's subscriber connection open through the outage.
      const result = handle.result({ timeoutMs: 30_000 })
      await new Promise((resolve) => setTimeout(resolve, 300))
      await server.restart(1_500)
      open()
      expect(await result).toBe(42)
      await until(() => lines.some((l) => /reachable again/.test(String(l.msg))), 5000, 'the recovery line')
      await new Promise((resolve) => setTimeout(resolve, 500))
      const lost = lines.filter((l) => /connection to Redis lost/.test(String(l.msg)))
      const back = lines.filter((l) => /reachable again/.test(String(l.msg)))
      expect(lost).toHaveLength(1)
      expect(back).toHaveLength(1)
      expect(String(lost[0]!.msg)).toContain(`at 127.0.0.1:${server.port}`)
      expect(String(back[0]!.msg)).toMatch(/broker, result backend|result backend, broker/)
      expect(JSON.stringify(lines)).not.toContain('outage-secret')
    } finally {
      await app.close()
    }
  })

  it('a producer sees NotConnectedError, not ioredis MaxRetriesPerRequestError, while Redis is down', async () => {
    server = await startPrivateRedis()
    const broker = createRedisBroker({
      redis: { host: '127.0.0.1', port: server.port, maxRetriesPerRequest: 1 },
      prefix: 'cvtest-maxretries',
      logger: false,
    })
    try {
      await broker.declare({ name: 'q' })
      await server.stop()
      server = undefined
      const error = await broker
        .publish({
          id: 'x',
          task: 't',
          payload: null,
          queue: 'q',
          priority: 0,
          attempt: 1,
          maxAttempts: 1,
          createdAt: 0,
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        )
      expect(error).toBeInstanceOf(NotConnectedError)
      expect((error as NotConnectedError).code).toBe('CONVEYOR_NOT_CONNECTED')
      expect((error as Error).message).toMatch(/^\[conveyor\] \[redis\] Redis did not answer/)
    } finally {
      await broker.destroy()
    }
  })
})
