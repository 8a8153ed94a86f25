import { type App, chain, chord, group, type Settled, type TaskFailedError, UnrecoverableError } from '@conveyor/core'
import { describe, expect, it } from 'vitest'
import { newNamespace } from './harness/harness'
import { eventually, sleep } from './harness/wait'

/** Options of `runWorkflowScenarios`. */
export interface WorkflowScenarioOptions {
  /** Shown in the describe block, e.g. `redis broker + redis results`. */
  readonly name: string
  /**
   * A fresh app on `namespace` (unique per test) whose broker and result backend are under test, with
   * `defaults.queue` set to a queue of that namespace. The scenario closes it.
   */
  readonly createApp: (ctx: { readonly namespace: string }) => App | Promise<App>
  /** Remove what the namespace left behind. */
  readonly cleanup?: (ctx: { readonly namespace: string }) => Promise<void>
  /**
   * Run a large chord too: `true` for 10,000 members (a few seconds on a local Redis), or a member count (a suite
   * that keeps the 10,000 for an opt-in run).
   */
  readonly large?: boolean | number
  /** Multiplies the waits (default 1). */
  readonly timeScale?: number
}

/** Tasks every scenario uses, with how often each ran. */
function tasksOf(app: App) {
  const calls = new Map<string, number>()
  const ran = (name: string) => calls.set(name, (calls.get(name) ?? 0) + 1)
  return {
    calls,
    add: app.task('wf.add', (n: number) => ran('add') && n + 1, { retry: { maxAttempts: 1 } }),
    double: app.task('wf.double', (n: number) => ran('double') && n * 2, { retry: { maxAttempts: 1 } }),
    sum: app.task('wf.sum', (ns: number[]) => ran('sum') && ns.reduce((a, b) => a + b, 0)),
    show: app.task('wf.show', (n: number) => ran('show') && `n=${n}`),
    boom: app.task(
      'wf.boom',
      (message: string): number => {
        ran('boom')
        throw new UnrecoverableError(message)
      },
      { retry: { maxAttempts: 1 } },
    ),
    summarize: app.task('wf.summarize', (outcomes: Settled<number>[]) => {
      ran('summarize')
      return outcomes.map((o) => (o.ok ? o.value : `error: ${o.error.message}`))
    }),
  }
}

type Scenario = (app: App, tasks: ReturnType<typeof tasksOf>, ms: (n: number) => number) => Promise<void>

const scenarios: Record<string, Scenario> = {
  'chain: each step gets the previous output; the handle resolves with the last': async (app, t, ms) => {
    const job = await app.enqueueWorkflow(chain(t.add.with(1), t.double, t.show))
    expect(await job.result({ timeoutMs: ms(10_000) })).toBe('n=4')
    const record = await job.record()
    expect(record.members.map((m) => m.state)).toEqual(['succeeded', 'succeeded', 'succeeded'])
  },
  'group: every result, in member order': async (app, t, ms) => {
    const job = await app.enqueueWorkflow(group([5, 1, 4, 2, 3].map((n) => t.double.with(n))))
    expect(await job.result({ timeoutMs: ms(10_000) })).toEqual([10, 2, 8, 4, 6])
  },
  'chord: the callback runs once, with every result': async (app, t, ms) => {
    const job = await app.enqueueWorkflow(chord(group([1, 2, 3, 4].map((n) => t.double.with(n))), t.sum))
    expect(await job.result({ timeoutMs: ms(10_000) })).toBe(20)
    await sleep(ms(200))
    expect(t.calls.get('sum')).toBe(1)
  },
  'nesting: chains inside a group, a group as a chain step': async (app, t, ms) => {
    const inner = group([chain(t.add.with(1), t.double), chain(t.add.with(10), t.double), t.double.with(100)])
    const nested = await app.enqueueWorkflow(chain(chord(inner, t.sum), t.show))
    const stepped = await app.enqueueWorkflow(chain(t.add.with(0), group([t.double, t.add]), t.sum))
    expect(await nested.result({ timeoutMs: ms(10_000) })).toBe(`n=${4 + 22 + 200}`)
    expect(await stepped.result({ timeoutMs: ms(10_000) })).toBe(4)
  },
  'fail fast: the handle rejects with the member error; callback and later steps never run': async (app, t, ms) => {
    const job = await app.enqueueWorkflow(
      chain(chord(group([t.double.with(1), t.boom.with('no luck')]), t.sum), t.show),
    )
    const error = (await job.result({ timeoutMs: ms(10_000) }).catch((e: unknown) => e)) as TaskFailedError
    expect(error.code).toBe('CONVEYOR_TASK_FAILED')
    expect(error.record.error?.message).toMatch(/no luck/)
    // The workflow fails before the member's own record is written (the member is counted before it is settled).
    const states = await eventually(
      async () => (await job.record()).members.map((m) => [m.task, m.state]),
      (now) => now.some(([task, state]) => task === 'wf.boom' && state === 'dead-lettered'),
      ms(5000),
      'the failed member recorded dead-lettered',
    )
    expect(t.calls.get('sum')).toBeUndefined()
    expect(t.calls.get('show')).toBeUndefined()
    expect(states).toContainEqual(['wf.show', 'pending'])
  },
  'collect: the callback still runs, with each member outcome': async (app, t, ms) => {
    const members = group([t.double.with(1), t.boom.with('bad'), t.double.with(3)])
    const job = await app.enqueueWorkflow(chord(members, t.summarize, { failure: 'collect' }))
    const out = await job.result({ timeoutMs: ms(10_000) })
    expect(out).toEqual([2, expect.stringMatching(/bad/), 6])
    expect(t.calls.get('summarize')).toBe(1)
  },
  'progress: ctx.progress is in the record while it runs and after, and emitted as task.progress': async (
    app,
    _,
    ms,
  ) => {
    let finish: () => void = () => undefined
    const gate = new Promise<void>((resolve) => {
      finish = resolve
    })
    const long = app.task('wf.long', async (_: null, ctx) => {
      await ctx.progress({ done: 1, total: 2 })
      await gate
      await ctx.progress({ done: 2, total: 2 })
      return 'done'
    })
    const heard: unknown[] = []
    app.events.on('task.progress', (e) => heard.push(e.progress))
    const job = await long.enqueue(null)
    const running = await eventually(
      () => job.record(),
      (r) => r?.progress !== undefined,
      ms(5000),
      'progress',
    )
    expect(running).toMatchObject({ state: 'started', progress: { done: 1, total: 2 } })
    finish()
    expect(await job.result({ timeoutMs: ms(5000) })).toBe('done')
    expect(await job.record()).toMatchObject({ state: 'succeeded', progress: { done: 2, total: 2 } })
    expect(heard).toEqual([
      { done: 1, total: 2 },
      { done: 2, total: 2 },
    ])
  },
  'terminate: revoke with terminate aborts the running handler; the run ends revoked, never retried': async (
    app,
    _,
    ms,
  ) => {
    let runs = 0
    let reason: unknown
    const stuck = app.task(
      'wf.stuck',
      async (_: null, ctx) => {
        runs++
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }))
        reason = ctx.signal.reason
        throw reason
      },
      { retry: { maxAttempts: 3, backoff: 10 } },
    )
    const job = await stuck.enqueue(null)
    await eventually(
      () => job.record(),
      (r) => r?.state === 'started',
      ms(5000),
      'the run to start',
    )
    await app.revoke(job.id, { terminate: true })
    const error = (await job.result({ timeoutMs: ms(5000) }).catch((e: unknown) => e)) as TaskFailedError
    expect(error.record.state).toBe('revoked')
    expect(reason).toMatchObject({ code: 'CONVEYOR_TASK_REVOKED' })
    await sleep(ms(300))
    expect(runs).toBe(1)
  },
}

/**
 * Workflows end to end through an app on the broker and result backend under test: chain, group, chord, nesting,
 * both failure policies, and optionally a 10,000-member chord whose callback must run exactly once.
 */
export function runWorkflowScenarios(options: WorkflowScenarioOptions): void {
  const ms = (n: number) => Math.round(n * (options.timeScale ?? 1))
  const run = async (scenario: Scenario, concurrency: number) => {
    const ctx = { namespace: newNamespace() }
    const app = await options.createApp(ctx)
    try {
      const tasks = tasksOf(app)
      await app.worker({ concurrency }).start()
      await scenario(app, tasks, ms)
    } finally {
      await app.close({ timeoutMs: 0 }).catch(() => undefined)
      await options.cleanup?.(ctx)
    }
  }
  describe(`${options.name}: workflows`, () => {
    for (const [title, scenario] of Object.entries(scenarios)) it(title, () => run(scenario, 10), ms(30_000))
    if (options.large) {
      const n = options.large === true ? 10_000 : options.large
      it(
        `a ${n.toLocaleString('en-US')}-member chord completes with its callback run exactly once`,
        () =>
          run(async (app, t) => {
            const members = group(Array.from({ length: n }, (_, i) => t.double.with(i)))
            const job = await app.enqueueWorkflow(chord(members, t.sum))
            expect(await job.result({ timeoutMs: ms(120_000) })).toBe(n * (n - 1))
            await sleep(ms(200))
            expect(t.calls.get('sum')).toBe(1)
            // At least once: a member whose lease lapsed on a loaded machine may run twice; it still counts once.
            expect(t.calls.get('double')).toBeGreaterThanOrEqual(n)
          }, 100),
        ms(150_000),
      )
    }
  })
}
