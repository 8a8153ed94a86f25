import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { type App, chord, createApp, group } from '@conveyor/core'
import { createRabbitMQBroker, queueNames } from '@conveyor/rabbitmq'
import { createRedisResultBackend } from '@conveyor/redis'
import { deletePrefix, REDIS_URL, rawRedis, sleep, until } from '@conveyor/test-support'
import { connect } from 'amqplib'
import type { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { barrier, callback, DELAY_LEVELS, member, WF_QUEUE } from './fixtures/workflow-tasks'
import { ROOT } from './helpers'

// Chords on RabbitMQ (messages) with the Redis result backend (counting): the callback runs exactly once when the
// worker that settled the chord dies before publishing it, when workers are SIGKILLed at random while members finish,
// and when the last two members finish together in two processes. RabbitMQ redelivers a dead consumer's unacked
// messages at once; the redelivered member is counted again (no change) and publishes what its dead settler did not.
const AMQP_URL = process.env.CONVEYOR_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672'
const fixture = fileURLToPath(new URL('./fixtures/workflow-rabbitmq-worker.ts', import.meta.url))

let raw: Redis
const prefixes: string[] = []
const apps: App[] = []
const children = new Set<ChildProcess>()
beforeAll(async () => {
  raw = await rawRedis()
})
afterEach(async () => {
  for (const child of children) child.kill('SIGKILL')
  children.clear()
  await Promise.all(apps.splice(0).map((app) => app.close({ timeoutMs: 0 }).catch(() => undefined)))
})
afterAll(async () => {
  const model = await connect(AMQP_URL)
  try {
    const channel = await model.createChannel()
    for (const prefix of prefixes) {
      const names = queueNames(prefix, WF_QUEUE, DELAY_LEVELS)
      for (const name of [names.work, names.dead, ...names.delays.map((d) => d.name)]) await channel.deleteQueue(name)
      await deletePrefix(raw, prefix)
    }
  } finally {
    await model.close().catch(() => undefined)
  }
  raw.disconnect()
})

const newPrefix = (what: string) => {
  const prefix = `cvt-workflows-${what}-${process.pid}-${Date.now().toString(36)}`
  prefixes.push(prefix)
  return prefix
}

interface Worker {
  readonly child: ChildProcess
  readonly exited: Promise<unknown>
  output(): string
}

/** A worker process (node with tsx as a loader, so SIGKILL reaches the process that runs the tasks). */
async function startWorker(prefix: string, mode: 'normal' | 'die-after-settle', concurrency: number, delayMs = 5) {
  const args = [AMQP_URL, REDIS_URL, prefix, String(concurrency), mode, String(delayMs)]
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=conveyor-source', fixture, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  })
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
    broker: createRabbitMQBroker({ url: AMQP_URL, prefix, delayLevels: DELAY_LEVELS, logger: false }),
    results: createRedisResultBackend({ url: REDIS_URL, prefix, logger: false }),
    logger: false,
  })
  apps.push(app)
  return app
}

/** The callback runs logged by the worker processes: `{ id, values }` each. */
async function callbacks(prefix: string): Promise<{ id: string; values: number[] }[]> {
  return (await raw.lrange(`${prefix}:callbacks`, 0, -1)).map((line) => JSON.parse(line))
}

/** How many outcomes the store counted for the chord's group (node 1 of `chord(group, cb)`). */
const counted = (prefix: string, workflowId: string) => raw.hlen(`{${prefix}:wf:${workflowId}}:o:1`)

describe('rabbitmq broker + redis results: chords under worker crashes', { timeout: 120_000 }, () => {
  it('the worker that settles the chord is SIGKILLed before publishing the callback: another publishes it, once', async () => {
    const prefix = newPrefix('settle-death')
    const app = producer(prefix)
    const n = 20
    const dying = await startWorker(prefix, 'die-after-settle', 4)
    const job = await app.enqueueWorkflow(chord(group(Array.from({ length: n }, (_, i) => member.with(i))), callback))
    await dying.exited
    expect(dying.output()).toContain('dying')
    expect(await callbacks(prefix)).toEqual([])
    // RabbitMQ gives the dead consumer's unacked last member to the next worker, which counts it (no change), finds
    // the chord settled but not released, and publishes the callback.
    await startWorker(prefix, 'normal', 4)
    expect(await job.result({ timeoutMs: 15_000 })).toBe(n * (n - 1))
    await sleep(1000)
    const runs = await callbacks(prefix)
    expect(runs).toHaveLength(1)
    expect(runs[0]!.values).toEqual(Array.from({ length: n }, (_, i) => i * 2))
    expect(await counted(prefix, job.id)).toBe(n)
  })

  it('worker processes SIGKILLed at random while members finish, two chords in a row: each callback once, every member counted once', async () => {
    const prefix = newPrefix('sigkill')
    const app = producer(prefix)
    const workers = await Promise.all([0, 1].map(() => startWorker(prefix, 'normal', 5, 15)))
    let killing = true
    let kills = 0
    // Kills follow progress, not the clock: every 35 member runs one worker dies (a clock-driven first kill at
    // 300–600 ms could come after both chords were done on a fast machine, and the test then proved nothing).
    const killer = (async () => {
      let nextKillAt = 25
      while (killing) {
        if ((await raw.llen(`${prefix}:runs`)) < nextKillAt) {
          await sleep(5)
          continue
        }
        nextKillAt += 35
        const slot = Math.floor(Math.random() * workers.length)
        workers[slot]!.child.kill('SIGKILL')
        kills++
        await workers[slot]!.exited
        workers[slot] = await startWorker(prefix, 'normal', 5, 15)
      }
    })()
    const n = 100
    const ids: string[] = []
    try {
      for (let round = 0; round < 2; round++) {
        const inputs = Array.from({ length: n }, (_, i) => i + round * 1000)
        const job = await app.enqueueWorkflow(chord(group(inputs.map((i) => member.with(i))), callback))
        ids.push(job.id)
        expect(await job.result({ timeoutMs: 40_000 })).toBe(inputs.reduce((a, b) => a + 2 * b, 0))
      }
    } finally {
      killing = false
      await killer
    }
    expect(kills).toBeGreaterThan(0)
    await sleep(1000)
    const runs = await callbacks(prefix)
    expect(runs.map((r) => r.id.split('.')[0]).sort()).toEqual([...ids].sort())
    for (const id of ids) expect(await counted(prefix, id)).toBe(n)
  })

  it('the last two members finish at the same moment in two processes: the callback runs once', async () => {
    const prefix = newPrefix('race')
    const app = producer(prefix)
    await Promise.all([startWorker(prefix, 'normal', 1), startWorker(prefix, 'normal', 1)])
    const rounds = 5
    for (let round = 0; round < rounds; round++) {
      const job = await app.enqueueWorkflow(chord(group([barrier.with({ round }), barrier.with({ round })]), callback))
      // Both members held, one per process (prefetch 1 each), before they may finish.
      await until(async () => (await raw.llen(`${prefix}:started:${round}`)) === 2, 10_000, 'both members to start')
      await raw.set(`${prefix}:go:${round}`, '1')
      expect(await job.result({ timeoutMs: 10_000 })).toBe(2 * round)
    }
    await sleep(500)
    expect(await callbacks(prefix)).toHaveLength(rounds)
  })
})
