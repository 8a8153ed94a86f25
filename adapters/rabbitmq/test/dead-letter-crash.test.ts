import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createApp } from '@conveyor/core'
import { AMQP_URL, eventually } from '@conveyor/test-support'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, makeBroker, uniquePrefix } from './helpers'

const script = fileURLToPath(new URL('./fixtures/dead-letter-crash-worker.ts', import.meta.url))

function startChild(prefix: string, mode: 'freeze-at-ack' | 'normal'): { child: ChildProcess; out: () => string } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=conveyor-source', script, AMQP_URL, prefix, mode],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let out = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  return { child, out: () => out }
}

const killed = (child: ChildProcess): Promise<unknown> => {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGKILL')
  return exited
}

/** Stops a `normal` child gracefully: it acks what it finished before exiting (a SIGKILL here would requeue it). */
const stopped = (child: ChildProcess): Promise<unknown> => {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  return exited
}

describe('rabbitmq dead letter of a worker killed between the dead letter and the ack', () => {
  let prefix = ''
  const children: ChildProcess[] = []
  afterEach(async () => {
    await Promise.all(children.splice(0).map(killed))
    await cleanup(prefix)
  })

  it('keeps one dead letter per run, and a replay runs it once', async () => {
    prefix = uniquePrefix('harden-dlcrash')
    const first = startChild(prefix, 'freeze-at-ack')
    children.push(first.child)
    await eventually(() => first.out().includes('ready'), 20_000, 'the first worker')
    const broker = makeBroker(prefix)
    const app = createApp({ broker, results: false, logger: false })
    const fail = app.task('report.fail', async (_input: { n: number }) => {}, { queue: 'reports' })
    const job = await fail.enqueue({ n: 1 })
    // The dead letter is confirmed and the worker is about to ack the original: kill it there.
    await eventually(() => first.out().includes('acking'), 20_000, 'the first worker to reach its ack')
    await killed(first.child)
    const second = startChild(prefix, 'normal')
    children.push(second.child)
    await eventually(() => second.out().includes('ran 1'), 20_000, 'the redelivery to run')
    // Both deliveries wrote a dead letter (the queue holds two copies); the store shows the run once.
    await eventually(async () => (await broker.deadLetters.count('reports')) === 2, 20_000, 'the second copy')
    await stopped(second.child)
    const dead = await broker.deadLetters.list('reports')
    expect(dead.map((entry) => entry.id)).toEqual([job.id])
    expect(dead[0]).toMatchObject({ reason: 'unrecoverable', deliveryCount: 1 })
    expect(await broker.deadLetters.count('reports')).toBe(1)
    expect(await broker.deadLetters.replay('reports', { ids: [job.id] })).toBe(1)
    expect((await broker.stats('reports')).ready).toBe(1)
    expect(await broker.deadLetters.count('reports')).toBe(0)
    await app.close()
  })
})
