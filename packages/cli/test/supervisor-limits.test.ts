import { hardLimitKey } from '@conveyor/core/adapter'
import { createRedisCoordination } from '@conveyor/redis'
import { REDIS_URL, until } from '@conveyor/test-support'
import { beforeAll, describe, expect, it } from 'vitest'
import { conveyor, REDIS_APP, redisSandboxes, type Started, start } from './helpers'

const sandboxes = redisSandboxes()
const setup = (what: string) => sandboxes.setup(what)

const msg = (text: string) => (line: Record<string, unknown>) => String(line.msg).includes(text)

// One supervisor with two worker processes serves the limit tests in turn (process start-up dominates their time).
describe('conveyor worker limits (one supervisor, two processes, on Redis)', { timeout: 120_000 }, () => {
  let ctx: Awaited<ReturnType<typeof setup>>
  let worker: Started
  const byTask = (task: string) => ctx.journal().filter((e) => e.task === task)

  beforeAll(async () => {
    ctx = await setup('limits')
    // Beats every 500 ms (TTL 1.5 s): a killed process's heartbeat is gone soon after, for the last test.
    worker = start(
      ['worker', '--app', REDIS_APP, '-P', '2', '-c', '10', '--stats-interval', '500', '--terminate-grace', '500'],
      ctx.env,
    )
    await until(() => worker.logs().filter(msg('worker ready')).length === 2, 60_000, 'two workers ready')
  }, 90_000)

  it('soft time limit: the task signal aborts and the retry policy decides', async () => {
    const job = await ctx.app.enqueue('work.soft', null)
    await expect(job.result({ timeoutMs: 45_000 })).rejects.toThrow()
    const record = await job.record()
    expect(record?.state).toBe('dead-lettered')
    expect(record?.error?.name).toBe('TaskTimeoutError')
    // The worker's settings for the task decide (maxAttempts 2), not the default the producer stamped without
    // knowing the task (3).
    expect(byTask('work.soft').map((e) => e.attempt)).toEqual([1, 2])
  })

  it('a rate limit holds across two worker processes, which inspect workers lists', async () => {
    const before = Date.now()
    await Promise.all(Array.from({ length: 15 }, () => ctx.app.enqueue('work.limited', null)))
    await until(() => byTask('work.limited').length === 15, 30_000, '15 runs')
    const runs = byTask('work.limited')
    expect(new Set(runs.map((r) => r.pid)).size).toBe(2)
    const times = runs.map((r) => r.at as number).sort((a, b) => a - b)
    // 5 per 500 ms across both processes: the 6th token cannot be taken before the 1st leaves the window, the 11th
    // before the 6th. A run is stamped after its token, so these lower bounds hold however loaded the machine is;
    // limits per process would let 10 runs start at once.
    expect(times[5]! - before).toBeGreaterThanOrEqual(490)
    expect(times[10]! - before).toBeGreaterThanOrEqual(990)
    const listed = await conveyor(['inspect', 'workers', '--app', REDIS_APP, '--json'], ctx.env)
    const beats = JSON.parse(listed.stdout) as { pid: number; pool: string }[]
    expect(beats.map((b) => b.pid).sort()).toEqual([...new Set(runs.map((r) => r.pid as number))].sort())
    expect(beats.every((b) => b.pool === 'default')).toBe(true)
  })

  it('hard time limit: the stuck process is replaced and the killed attempt fails with TaskTimeoutError; the retry policy decides', async () => {
    const once = await ctx.app.enqueue('work.hang-once', null)
    const killed = await worker.waitForLog((l) => msg('exceeded its hard time limit')(l) && l.taskId === once.id)
    // The limit of work.hang-once comes from the module's hardTimeouts, work.hang's from its hardTimeoutMs.
    expect(killed).toMatchObject({ task: 'work.hang-once', attempt: 1, hardLimitMs: 400 })
    // The redelivery of attempt 1 fails without running (not a crash counting towards maxDeliveries); attempt 2 runs.
    expect(await once.result({ timeoutMs: 45_000 })).toBe('recovered')
    expect(byTask('work.hang-once').map((e) => e.attempt)).toEqual([1, 2])
    // Recorded in the coordination store too, for the workers of other supervisors.
    const coordination = createRedisCoordination({ url: REDIS_URL, prefix: ctx.prefix })
    sandboxes.defer(() => coordination.close())
    expect(await coordination.isRevoked(hardLimitKey(once.id, 1))).toBe(true)
    expect(await coordination.isRevoked(hardLimitKey(once.id, 2))).toBe(false)
    // Hangs every time: each kill is a failed attempt, and out of attempts (the producer's default 3) it is
    // dead-lettered as max-attempts. (Enqueued after the first finished: a task merely sharing a killed process is
    // not over its limit — it comes back as a redelivery and runs again, which would blur the count.)
    const always = await ctx.app.enqueue('work.hang', null)
    await expect(always.result({ timeoutMs: 45_000 })).rejects.toThrow()
    const record = await always.record()
    expect(record).toMatchObject({ state: 'dead-lettered', error: { name: 'TaskTimeoutError' } })
    const dead = (await ctx.app.broker.deadLetters.list('default')).find((d) => d.id === always.id)
    expect(dead).toMatchObject({ reason: 'max-attempts' })
    expect(byTask('work.hang').map((e) => e.attempt)).toEqual([1, 2, 3])
    // Each killed process was replaced: as many more became ready as were killed.
    const kills = () => worker.logs().filter(msg('exceeded its hard time limit')).length
    expect(kills()).toBe(4)
    await until(() => worker.logs().filter(msg('worker ready')).length === 2 + kills(), 60_000, 'replacements')
  })

  it('revoke --terminate: a handler that honours its signal stops at once; the run ends revoked, not retried', async () => {
    const job = await ctx.app.enqueue('work.cooperative', null)
    await until(() => byTask('work.cooperative').length === 1, 30_000, 'the run to start')
    const revoked = await conveyor(['revoke', job.id, '--terminate', '--app', REDIS_APP], ctx.env)
    expect(revoked.code).toBe(0)
    await expect(job.result({ timeoutMs: 30_000 })).rejects.toThrow()
    expect((await job.record())?.state).toBe('revoked')
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(byTask('work.cooperative').map((e) => e.attempt)).toEqual([1])
    expect(worker.logs().filter(msg('did not stop within the grace period'))).toHaveLength(0)
  })

  it('revoke with terminate: a handler that ignores its signal has its process killed and replaced after the grace period; revoked, never run again', async () => {
    const readyBefore = worker.logs().filter(msg('worker ready')).length
    const job = await ctx.app.enqueue('work.stubborn', null)
    await until(() => byTask('work.stubborn').length === 1, 30_000, 'the run to start')
    // Through the CLI: the app module's coordination store is the one the supervisor reads.
    expect((await conveyor(['revoke', job.id, '--terminate', '--app', REDIS_APP], ctx.env)).code).toBe(0)
    const revokedAt = Date.now()
    const killed = await worker.waitForLog((l) => msg('did not stop within the grace period')(l) && l.taskId === job.id)
    expect(killed).toMatchObject({ graceMs: 500 })
    await expect(job.result({ timeoutMs: 30_000 })).rejects.toThrow()
    expect((await job.record())?.state).toBe('revoked')
    // A handler that blocks its event loop cannot extend its lease either (1 s here), so before the revoke was stored
    // the run may already have been redelivered to the other process (and is terminated there too). Once the revoke
    // is stored, no delivery runs it again.
    expect(byTask('work.stubborn').length).toBeGreaterThanOrEqual(1)
    expect(byTask('work.stubborn').filter((e) => Number(e.at) > revokedAt)).toEqual([])
    await until(() => worker.logs().filter(msg('worker ready')).length > readyBefore, 60_000, 'a replacement')
  })

  it('revoke --terminate: a handler that ignores its signal but keeps its event loop free is killed after the grace period too; revoked, never run again', async () => {
    const readyBefore = worker.logs().filter(msg('worker ready')).length
    const job = await ctx.app.enqueue('work.oblivious', null)
    const runs = () => byTask('work.oblivious').filter((e) => e.event === undefined)
    await until(() => runs().length === 1, 30_000, 'the run to start')
    expect((await conveyor(['revoke', job.id, '--terminate', '--app', REDIS_APP], ctx.env)).code).toBe(0)
    // The run ends revoked at once (its signal aborted); the handler goes on ticking until its process is killed.
    await expect(job.result({ timeoutMs: 30_000 })).rejects.toThrow()
    expect((await job.record())?.state).toBe('revoked')
    await worker.waitForLog((l) => msg('ignores its signal and is still running')(l) && l.taskId === job.id)
    const killed = await worker.waitForLog((l) => msg('did not stop within the grace period')(l) && l.taskId === job.id)
    expect(killed).toMatchObject({ graceMs: 500 })
    await until(() => worker.logs().filter(msg('worker ready')).length > readyBefore, 60_000, 'a replacement')
    // Stopped with its process: no tick well after the kill (the signal travels after the log line), and no
    // second run (the message was acked as revoked before the kill, so nothing is redelivered).
    const ticks = byTask('work.oblivious').filter((e) => e.event === 'tick')
    expect(ticks.length).toBeGreaterThan(0)
    expect(ticks.filter((e) => Number(e.at) > Number(killed.time) + 300)).toEqual([])
    expect(runs()).toHaveLength(1)
  })

  it('stops on SIGTERM with exit 0; heartbeats leave with the processes (a killed one after its TTL)', async () => {
    worker.signal('SIGTERM')
    expect(await worker.exited).toBe(0)
    const coordination = createRedisCoordination({ url: REDIS_URL, prefix: ctx.prefix })
    sandboxes.defer(() => coordination.close())
    // Processes that stopped cleanly removed their beat; the ones SIGKILLed for the hard limit expire (3 × 500 ms).
    await until(async () => (await coordination.listHeartbeats()).length === 0, 30_000, 'no live heartbeats')
  })
})

describe('conveyor worker pools (on Redis)', { timeout: 120_000 }, () => {
  it('dedicated pools: a backlog on a bulk queue does not delay the critical one', async () => {
    const { env, app } = await setup('pools')
    const worker = start(['worker', '--app', REDIS_APP, '--pool', 'high=critical:2', '--pool', 'bulk=reports:1'], env)
    await until(() => worker.logs().filter(msg('worker ready')).length === 2, 60_000, 'two pools ready')
    const ready = worker.logs().filter(msg('worker ready'))
    expect(ready.map((l) => l.queues).sort()).toEqual([['critical'], ['reports']])
    const bulk = await Promise.all(
      [0, 1, 2].map((n) => app.enqueue('work.slow', { ms: 1500, n }, { queue: 'reports' })),
    )
    const urgent = await app.enqueue('work.echo', { urgent: true }, { queue: 'critical' })
    expect(await urgent.result({ timeoutMs: 45_000 })).toEqual({ urgent: true })
    // The bulk pool runs one at a time (1.5 s each): its last task cannot be done yet, the urgent one already is.
    expect((await bulk[2]!.record())?.state).not.toBe('succeeded')
    worker.signal('SIGTERM')
    worker.signal('SIGTERM')
    expect(await worker.exited).toBe(0)
  })
})
