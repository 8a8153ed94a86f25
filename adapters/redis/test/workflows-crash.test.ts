import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { type App, chord, createApp, group } from '@conveyor/core'
import { deletePrefix, REDIS_URL, rawRedis, sleep, uniquePrefix } from '@conveyor/test-support'
import type { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createRedisBroker, createRedisResultBackend } from '../src/index'
import { barrier, callback, member } from './fixtures/workflow-tasks'
import { until } from './helpers'

const fixture = fileURLToPath(new URL('./fixtures/workflow-worker.ts', import.meta.url))
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))

let raw: Redis
const prefixes: string[] = []
const children = new Set<ChildProcess>()
beforeAll(async () => {
  raw = await rawRedis()
})
afterEach(() => {
  for (const child of children) child.kill('SIGKILL')
  children.clear()
})
afterAll(async () => {
  for (const prefix of prefixes) await deletePrefix(raw, prefix)
  raw.disconnect()
})

interface Worker {
  readonly child: ChildProcess
  readonly exited: Promise<unknown>
  output(): string
}

/** A worker process (node with tsx as a loader, so SIGKILL reaches the process that runs the tasks). */
async function startWorker(prefix: string, mode: 'normal' | 'die-after-settle', concurrency: number, delayMs = 5) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=conveyor-source',
      fixture,
      REDIS_URL,
      prefix,
      String(concurrency),
      mode,
      String(delayMs),
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] },
  )
  children.add(child)
  let out = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  await until(() => out.includes('ready'), 60_000, 'a workflow worker process to start')
  return { child, exited, output: () => out } satisfies Worker
}

function producer(prefix: string): App {
  const app = createApp({
    broker: createRedisBroker({ url: REDIS_URL, prefix, leaseMs: 1000, logger: false }),
    results: createRedisResultBackend({ url: REDIS_URL, prefix, logger: false }),
    logger: false,
  })
  return app
}

/** The callback runs logged by the worker processes: `{ id, values }` each. */
async function callbacks(prefix: string): Promise<{ id: string; values: number[] }[]> {
  return (await raw.lrange(`${prefix}:callbacks`, 0, -1)).map((line) => JSON.parse(line))
}

/** How many outcomes the store counted for the chord's group (node 1 of `chord(group, cb)`). */
const counted = (prefix: string, workflowId: string) => raw.hlen(`{${prefix}:wf:${workflowId}}:o:1`)

describe('redis: chords under worker crashes', () => {
  it('the worker that settles the chord dies before publishing the callback: another publishes it, once', async () => {
    const prefix = uniquePrefix('wf-settle-death')
    prefixes.push(prefix)
    const app = producer(prefix)
    const n = 20
    const dying = await startWorker(prefix, 'die-after-settle', 4)
    const job = await app.enqueueWorkflow(chord(group(Array.from({ length: n }, (_, i) => member.with(i))), callback))
    await dying.exited
    expect(dying.output()).toContain('dying')
    expect(await callbacks(prefix)).toEqual([])
    // The settled-but-unreleased chord is picked up by whoever counts the redelivered last member.
    await startWorker(prefix, 'normal', 4)
    expect(await job.result({ timeoutMs: 15_000 })).toBe(n * (n - 1))
    await sleep(1500)
    const runs = await callbacks(prefix)
    expect(runs).toHaveLength(1)
    expect(runs[0]!.values).toEqual(Array.from({ length: n }, (_, i) => i * 2))
    expect(await counted(prefix, job.id)).toBe(n)
    await app.close()
  }, 120_000)

  it('worker processes SIGKILLed at random while members finish, two chords in a row: each callback once', async () => {
    const prefix = uniquePrefix('wf-sigkill')
    prefixes.push(prefix)
    const app = producer(prefix)
    const workers = await Promise.all([0, 1, 2].map(() => startWorker(prefix, 'normal', 5, 15)))
    let killing = true
    let kills = 0
    // Kills follow progress, not the clock: every 40 member runs one worker dies. On a fast machine both chords were
    // done in about 250 ms each, before a clock-driven first kill (300–600 ms), and the test then proved nothing.
    const killer = (async () => {
      let nextKillAt = 30
      while (killing) {
        if ((await raw.llen(`${prefix}:runs`)) < nextKillAt) {
          await sleep(5)
          continue
        }
        nextKillAt += 40
        const slot = Math.floor(Math.random() * workers.length)
        workers[slot]!.child.kill('SIGKILL')
        kills++
        await workers[slot]!.exited
        workers[slot] = await startWorker(prefix, 'normal', 5, 15)
      }
    })()
    const n = 120
    const ids: string[] = []
    try {
      for (let round = 0; round < 2; round++) {
        const inputs = Array.from({ length: n }, (_, i) => i + round * 1000)
        const job = await app.enqueueWorkflow(chord(group(inputs.map((i) => member.with(i))), callback))
        ids.push(job.id)
        const sum = inputs.reduce((a, b) => a + 2 * b, 0)
        expect(await job.result({ timeoutMs: 40_000 })).toBe(sum)
      }
    } finally {
      killing = false
      await killer
    }
    expect(kills).toBeGreaterThan(0)
    await sleep(1500)
    const runs = await callbacks(prefix)
    expect(runs.map((r) => r.id.split('.')[0]).sort()).toEqual([...ids].sort())
    for (const id of ids) expect(await counted(prefix, id)).toBe(n)
    await app.close()
  }, 120_000)

  it('the last two members finish at the same moment in two processes: the callback runs once', async () => {
    const prefix = uniquePrefix('wf-race')
    prefixes.push(prefix)
    const app = producer(prefix)
    await Promise.all([startWorker(prefix, 'normal', 1), startWorker(prefix, 'normal', 1)])
    const rounds = 5
    for (let round = 0; round < rounds; round++) {
      const job = await app.enqueueWorkflow(chord(group([barrier.with({ round }), barrier.with({ round })]), callback))
      // Both members held, one per process, before they may finish.
      await until(async () => (await raw.llen(`${prefix}:started:${round}`)) === 2, 10_000, 'both members to start')
      await raw.set(`${prefix}:go:${round}`, '1')
      expect(await job.result({ timeoutMs: 10_000 })).toBe(2 * round)
    }
    await sleep(500)
    expect(await callbacks(prefix)).toHaveLength(rounds)
    await app.close()
  }, 150_000)
})
