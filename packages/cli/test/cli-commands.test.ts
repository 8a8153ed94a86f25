import { runCli } from '@conveyor/cli'
import type { ConveyorEvent, EventPosition } from '@conveyor/core'
import { createRedisCoordination } from '@conveyor/redis'
import { REDIS_URL, until } from '@conveyor/test-support'
import { describe, expect, it } from 'vitest'
import { conveyorInProcess, REDIS_APP, redisSandboxes, start } from './helpers'

const sandboxes = redisSandboxes()

async function setup(what: string) {
  const { app, ...box } = await sandboxes.setup(what)
  const cli = async (...args: string[]) => {
    const run = await conveyorInProcess([...args, '--app', REDIS_APP], box.env)
    if (run.code !== 0) throw new Error(`conveyor ${args.join(' ')} exited ${run.code}: ${run.stderr}`)
    return args.includes('--json') ? (JSON.parse(run.stdout) as unknown) : run.stdout
  }
  return { ...box, app, cli }
}

// The commands run in this process (runCli, with the app module loaded afresh each time): cli-basics and the worker
// tests prove the bin itself; what these prove is each command's behaviour against a live Redis.
describe('conveyor commands against Redis', { timeout: 120_000 }, () => {
  it('enqueue, inspect queues, purge', async () => {
    const { app, cli } = await setup('queues')
    const enqueued = (await cli('enqueue', 'work.echo', '{"n":1}', '--json', '-q', 'cli-q')) as { id: string }
    expect(enqueued).toMatchObject({ task: 'work.echo', queue: 'cli-q' })
    expect(await app.broker.stats('cli-q')).toMatchObject({ ready: 1 })
    expect(await cli('inspect', 'queues', 'cli-q', '--json')).toEqual([
      // oldestReadyAt: when the waiting message was enqueued (the oldest-waiting-age gauge and alert read it).
      { queue: 'cli-q', ready: 1, inFlight: 0, delayed: 0, dead: 0, oldestReadyAt: expect.any(Number) },
    ])
    expect(await cli('inspect', 'queues', '-Q', 'cli-q')).toMatch(/^QUEUE\s+READY.*\ncli-q\s+1\s+0\s+0\s+0\n$/)
    // No names: every queue the broker knows when it can list them (cli-q is no task's queue), else the tasks' ones.
    const all = (await cli('inspect', 'queues', '--json')) as { queue: string }[]
    expect(all.map((r) => r.queue)).toContain(app.broker.listQueues ? 'cli-q' : 'default')
    expect(await cli('purge', 'cli-q', '--yes', '--json')).toEqual({ queue: 'cli-q', removed: 1 })
    expect(await app.broker.stats('cli-q')).toMatchObject({ ready: 0 })
  })

  it('enqueue --idempotency-key publishes once across runs, through --app and through --broker redis://', async () => {
    const { app, prefix, env, cli } = await setup('idem')
    const first = (await cli(
      'enqueue',
      'work.echo',
      '{"n":1}',
      '--idempotency-key',
      'k1',
      '--json',
      '-q',
      'idem-q',
    )) as {
      id: string
    }
    expect(first).toMatchObject({ task: 'work.echo', queue: 'idem-q', duplicate: false })
    const again = await conveyorInProcess(
      ['enqueue', 'work.echo', '{"n":1}', '--idempotency-key', 'k1', '-q', 'idem-q', '--app', REDIS_APP],
      env,
    )
    expect(again).toMatchObject({ code: 0, stdout: `${first.id}\n` })
    expect(again.stderr).toMatch(/duplicate of an earlier enqueue/)
    // --broker without an app module claims keys in the broker's Redis, under the same prefix.
    const broker = ['--broker', `${REDIS_URL}?prefix=${prefix}`, '--json']
    const viaUrl = await conveyorInProcess(['enqueue', 'work.echo', '{}', '--idempotency-key', 'k1', ...broker])
    expect(JSON.parse(viaUrl.stdout)).toMatchObject({ id: first.id, queue: 'idem-q', duplicate: true })
    const short = ['enqueue', 'work.echo', '{}', '--idempotency-key', 'k2', '--idempotency-ttl', '200', ...broker]
    const k2 = JSON.parse((await conveyorInProcess(short)).stdout) as { id: string }
    await new Promise((r) => setTimeout(r, 250))
    const k2Later = JSON.parse((await conveyorInProcess(short)).stdout) as { id: string; duplicate: boolean }
    expect(k2Later.duplicate).toBe(false)
    expect(k2Later.id).not.toBe(k2.id)
    expect(await app.broker.stats('idem-q')).toMatchObject({ ready: 1 })
    expect(await app.broker.stats('default')).toMatchObject({ ready: 2 })

    // A store inside the one CLI process could never see an earlier run's key: refused, nothing published.
    const memory = await conveyorInProcess(['enqueue', 't', '{}', '--idempotency-key', 'k', '--broker', 'memory://'])
    expect(memory.code).not.toBe(0)
    expect(memory.stderr).toMatch(/--idempotency-key needs a shared coordination store/)
    const bad = await conveyorInProcess(['enqueue', 't', '{}', '--idempotency-ttl', '5', '--broker', 'memory://'])
    expect(bad.stderr).toMatch(/--idempotency-ttl goes with --idempotency-key/)
  })

  it('dlq list, replay with a filter (dry run first), purge — in-process through runCli and --broker', async () => {
    const { app, prefix } = await setup('dlq')
    // A worker that implements none of these dead-letters them as unknown-task.
    for (const task of ['nobody.home', 'nobody.else', 'other.task']) await app.enqueue(task, { task }, { queue: 'dl' })
    const worker = app.worker({ queues: ['dl'] })
    await worker.start()
    await until(async () => (await app.broker.deadLetters.count('dl')) === 3, 30_000, 'three dead letters')
    await worker.stop()

    const broker = `${REDIS_URL}?prefix=${prefix}`
    const cli = async (...args: string[]) => {
      let out = ''
      let err = ''
      const io = { stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) } }
      const code = await runCli([...args, '--broker', broker, '--json'], { ...io, env: {}, cwd: process.cwd() })
      if (code !== 0) throw new Error(`conveyor ${args.join(' ')} exited ${code}: ${err}`)
      return JSON.parse(out) as unknown
    }
    const listed = (await cli('dlq', 'list', 'dl')) as { reason: string }[]
    expect(listed.map((d) => d.reason)).toEqual(['unknown-task', 'unknown-task', 'unknown-task'])
    const dry = (await cli('dlq', 'replay', 'dl', '--filter', 'task=nobody.*', '--dry-run')) as { ids: string[] }
    expect(dry.ids).toHaveLength(2)
    expect(await app.broker.deadLetters.count('dl')).toBe(3)
    expect(await cli('dlq', 'replay', 'dl', '-f', 'task=nobody.*')).toEqual({ action: 'replay', queue: 'dl', count: 2 })
    expect(await app.broker.stats('dl')).toMatchObject({ ready: 2, dead: 1 })
    // Each replay is in the stream (task.replayed, written before the message went back) and in the run's history.
    const stream: ConveyorEvent[] = []
    for (let from: EventPosition = 'start'; ; ) {
      const page = await app.events.stream!.read(from, { limit: 100 })
      if (page.events.length === 0) break
      stream.push(...page.events.map((s) => s.event))
      from = { after: page.cursor }
    }
    const replayed = stream.filter((e) => e.type === 'task.replayed')
    expect(replayed.map((e) => ('id' in e ? e.id : '')).sort()).toEqual([...dry.ids].sort())
    expect(replayed[0]).toMatchObject({ queue: 'dl', attempt: 1 })
    for (const id of dry.ids) {
      await until(
        async () => (await app.history!.get(id))?.timeline.some((h) => h.type === 'task.replayed') === true,
        10_000,
        `the replay in ${id}'s history`,
      )
      expect(await app.history!.get(id)).toMatchObject({ state: 'pending', attempt: 1 })
    }
    expect(await cli('dlq', 'purge', 'dl', '--yes')).toEqual({ action: 'purge', queue: 'dl', count: 1 })
    expect(await app.broker.deadLetters.count('dl')).toBe(0)
  })

  it('revoke, inspect workers, scheduler list', async () => {
    const { prefix, cli } = await setup('coord')
    const coordination = createRedisCoordination({ url: REDIS_URL, prefix })
    sandboxes.defer(() => coordination.close())
    expect(await cli('revoke', 'task-a', 'task-b')).toBe('revoked 2 task(s)\n')
    expect(await coordination.isRevoked('task-b')).toBe(true)

    const beat = { host: 'h', pid: 42, queues: ['q'], state: 'running', active: 1, processed: 7 }
    await coordination.putHeartbeat({ ...beat, id: 'h:42:1', pool: 'bulk', startedAt: 1, at: Date.now() }, 10_000)
    const workers = (await cli('inspect', 'workers', '--json')) as { id: string; processed: number }[]
    expect(workers).toMatchObject([{ id: 'h:42:1', pool: 'bulk', processed: 7 }])

    const list = (await cli('scheduler', 'list', '--json', '-n', '2')) as {
      name: string
      nextTicks: number[]
    }[]
    expect(list.map((s) => s.name)).toEqual(['cli-beat', 'nightly'])
    expect(list[1]).toMatchObject({ cron: '30 2 * * *', timezone: 'Europe/Berlin', misfire: 'run-once' })
    expect(list[1]!.nextTicks).toHaveLength(2)
    expect(new Date(list[1]!.nextTicks[0]!).toLocaleTimeString('en-GB', { timeZone: 'Europe/Berlin' })).toBe('02:30:00')
  })

  it('two schedulers side by side fire each tick once', async () => {
    const { env, app } = await setup('sched')
    const ids: string[] = []
    app.task('work.echo', async (_input: unknown, ctx) => {
      ids.push(ctx.id)
    })
    await app.worker({ queues: ['default'] }).start()
    const a = start(['scheduler', '--app', REDIS_APP], env)
    const b = start(['scheduler', '--app', REDIS_APP], env)
    const started = (s: typeof a) => s.waitForLog((l) => l.msg === 'scheduler started', 60_000)
    await Promise.all([started(a), started(b)])
    const countAtStart = ids.length
    await until(() => ids.length >= countAtStart + 8, 30_000, 'eight more ticks')
    a.signal('SIGTERM')
    b.signal('SIGTERM')
    expect(await a.exited).toBe(0)
    expect(await b.exited).toBe(0)
    const beats = ids.filter((id) => id.startsWith('schedule:cli-beat:'))
    expect(new Set(beats).size).toBe(beats.length)
    const ticks = beats.map((id) => Number(id.split(':')[2])).sort((x, y) => x - y)
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]! - ticks[i - 1]!).toBe(200)
    // Both took part: each claimed some ticks.
    const firedBy = [...a.logs(), ...b.logs()].filter((l) => l.msg === 'schedule fired' && l.schedule === 'cli-beat')
    expect(firedBy.length).toBe(beats.length)
  })
})
