import { createServer } from 'node:net'
import { NotConnectedError } from '@conveyor/core'
import { sleep } from '@conveyor/test-support'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createRedisBroker } from '../src/index'
import { until } from './helpers'

/** A port nothing listens on: bound by us, then released. */
async function deadPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('redis default logger', () => {
  it('reports a connection failure once, in one line, without a stack', async () => {
    const printed: unknown[][] = []
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      printed.push(args)
    })
    const broker = createRedisBroker({ url: `redis://127.0.0.1:${await deadPort()}` })
    try {
      const failure = await broker.connect().then(
        () => undefined,
        (error: unknown) => error,
      )
      expect(failure).toBeInstanceOf(NotConnectedError)
      expect((failure as Error).message).not.toContain('\n')
      await until(() => printed.length > 0, 5000, 'the outage report')
      // ioredis keeps retrying in the background; the outage is still reported once.
      await sleep(300)
      expect(printed).toHaveLength(1)
      expect(printed[0]).toHaveLength(1)
      const line = printed[0]![0] as string
      expect(typeof line).toBe('string')
      expect(line).not.toContain('\n')
      expect(line).toMatch(
        /^\[conveyor\] \[redis\] broker at 127\.0\.0\.1:\d+: connection to Redis lost or failing.*: .*ECONNREFUSED/,
      )
    } finally {
      await broker.destroy()
    }
  })
})
