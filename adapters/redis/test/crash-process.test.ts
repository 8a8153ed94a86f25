import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createApp } from '@conveyor/core'
import { deletePrefix, REDIS_URL, rawRedis, sleep, uniquePrefix } from '@conveyor/test-support'
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createRedisBroker } from '../src/index'
import { until } from './helpers'

let raw: Redis
const prefix = uniquePrefix('sigkill')
const LEASE_MS = 1000

beforeAll(async () => {
  raw = await rawRedis()
})
afterAll(async () => {
  await deletePrefix(raw, prefix)
  raw.disconnect()
})

const fixture = fileURLToPath(new URL('./fixtures/crash-worker.ts', import.meta.url))
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))

describe('redis: a worker process killed with SIGKILL mid-task', () => {
  it('has its task redelivered once, with deliveryCount 2, within the lease window', async () => {
    // node itself with tsx as a loader (not the tsx CLI, which runs node as a grandchild that SIGKILL would miss).
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=conveyor-source', fixture, REDIS_URL, prefix, String(LEASE_MS)],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
    })
    const exited = new Promise((resolve) => child.once('exit', resolve))
    try {
      await until(() => out.includes('ready'), 20_000, 'the worker process to start')
      const app = createApp({
        broker: createRedisBroker({ url: REDIS_URL, prefix, leaseMs: LEASE_MS, logger: false }),
        results: false,
        logger: false,
      })
      const runs: { id: string; deliveryCount: number; at: number }[] = []
      const slow = app.task(
        'slow',
        async (_input: unknown, ctx) => {
          runs.push({ id: ctx.id, deliveryCount: ctx.deliveryCount, at: Date.now() })
        },
        { queue: 'crash' },
      )
      const job = await slow.enqueue({})
      await until(() => out.includes(`started ${job.id} 1`), 10_000, 'the task to start in the child')
      child.kill('SIGKILL')
      await exited
      const killedAt = Date.now()
      // A live worker in this process takes over once the child's lease runs out.
      const worker = app.worker({ queues: ['crash'], concurrency: 5 })
      await worker.start()
      await until(() => runs.length === 1, LEASE_MS * 3, 'redelivery')
      expect(runs[0]!.id).toBe(job.id)
      expect(runs[0]!.deliveryCount).toBe(2)
      // Back once the lease the child last extended runs out (≤ LEASE_MS after the kill), plus scheduling slack.
      expect(runs[0]!.at - killedAt).toBeLessThanOrEqual(LEASE_MS + 1000)
      await sleep(LEASE_MS * 1.5)
      expect(runs.length).toBe(1)
      await worker.stop({ timeoutMs: 1000 })
      await app.close()
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    }
  }, 60_000)
})
