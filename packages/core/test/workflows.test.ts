import { runWorkflowScenarios } from '@conveyor/conformance'
import {
  chain,
  chord,
  createApp,
  declareTask,
  group,
  type Settled,
  TaskFailedError,
  UnrecoverableError,
} from '@conveyor/core'
import { afterEach, describe, expect, it } from 'vitest'

const apps: ReturnType<typeof createApp>[] = []
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close({ timeoutMs: 0 })))
})

/** An app on the memory broker and results, with a few tasks and a running worker. */
async function setup(concurrency = 20) {
  const app = createApp({ broker: 'memory://', logger: false, defaults: { retry: { maxAttempts: 1 } } })
  apps.push(app)
  const calls = new Map<string, number>()
  const count = (name: string) => calls.set(name, (calls.get(name) ?? 0) + 1)
  const add = app.task('wf.add', (n: number) => {
    count('add')
    return n + 1
  })
  const double = app.task('wf.double', (n: number) => {
    count('double')
    return n * 2
  })
  const sum = app.task('wf.sum', (ns: number[]) => {
    count('sum')
    return ns.reduce((a, b) => a + b, 0)
  })
  const show = app.task('wf.show', (n: number) => {
    count('show')
    return `n=${n}`
  })
  const boom = app.task('wf.boom', (message: string): number => {
    count('boom')
    throw new UnrecoverableError(message)
  })
  const summarize = app.task('wf.summarize', (outcomes: Settled<number>[]) => {
    count('summarize')
    return outcomes.map((o) => (o.ok ? o.value : `error: ${o.error.message}`))
  })
  await app.worker({ concurrency }).start()
  return { app, calls, add, double, sum, show, boom, summarize }
}

describe('workflows on the memory broker', () => {
  it('chain: each step gets the previous output; the handle resolves with the last', async () => {
    const { app, add, double, show } = await setup()
    const job = await app.enqueueWorkflow(chain(add.with(1), double, show))
    expect(await job.result({ timeoutMs: 5000 })).toBe('n=4')
    const record = await job.record()
    expect(record.state).toBe('succeeded')
    expect(record.members.map((m) => [m.task, m.state])).toEqual([
      ['wf.add', 'succeeded'],
      ['wf.double', 'succeeded'],
      ['wf.show', 'succeeded'],
    ])
  })

  it('group: all results in member order', async () => {
    const { app, double } = await setup()
    const job = await app.enqueueWorkflow(group([1, 2, 3, 4, 5].map((n) => double.with(n))))
    expect(await job.result({ timeoutMs: 5000 })).toEqual([2, 4, 6, 8, 10])
  })

  it('chord: the callback runs once with every result', async () => {
    const { app, calls, double, sum } = await setup()
    const job = await app.enqueueWorkflow(chord(group([1, 2, 3].map((n) => double.with(n))), sum))
    expect(await job.result({ timeoutMs: 5000 })).toBe(12)
    expect(calls.get('sum')).toBe(1)
  })

  it('nesting: a chain inside a group, and a group as a chain step', async () => {
    const { app, add, double, sum, show } = await setup()
    const inner = group([chain(add.with(1), double), chain(add.with(10), double), double.with(100)])
    const job = await app.enqueueWorkflow(chain(add.with(0), group([double, add]), sum, show))
    expect(await job.result({ timeoutMs: 5000 })).toBe('n=4') // (0+1)*2 + (0+1)+1
    const nested = await app.enqueueWorkflow(chord(inner, sum))
    expect(await nested.result({ timeoutMs: 5000 })).toBe(4 + 22 + 200)
  })

  it('fail-fast: the handle rejects with the member error; the callback and later steps never run', async () => {
    const { app, calls, double, boom, sum, show } = await setup()
    const job = await app.enqueueWorkflow(chain(chord(group([double.with(1), boom.with('no luck')]), sum), show))
    const error = await job.result({ timeoutMs: 5000 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TaskFailedError)
    expect((error as TaskFailedError).record.error).toMatchObject({ message: expect.stringContaining('no luck') })
    await new Promise((r) => setTimeout(r, 100))
    expect(calls.get('sum')).toBeUndefined()
    expect(calls.get('show')).toBeUndefined()
    const record = await job.record()
    expect(record.state).toBe('failed')
    expect(record.members.find((m) => m.task === 'wf.boom')?.state).toBe('dead-lettered')
    expect(record.members.find((m) => m.task === 'wf.show')?.state).toBe('pending')
  })

  it('a failed chain step stops the chain', async () => {
    const { app, calls, boom, show } = await setup()
    const job = await app.enqueueWorkflow(chain(boom.with('first'), show))
    await expect(job.result({ timeoutMs: 5000 })).rejects.toThrow(/first/)
    expect(calls.get('show')).toBeUndefined()
  })

  it('collect: the callback still runs, with each member outcome', async () => {
    const { app, calls, double, boom, summarize } = await setup()
    const job = await app.enqueueWorkflow(
      chord(group([double.with(1), boom.with('bad'), double.with(3)]), summarize, { failure: 'collect' }),
    )
    const out = await job.result({ timeoutMs: 5000 })
    expect(out[0]).toBe(2)
    expect(out[1]).toMatch(/bad/)
    expect(out[2]).toBe(6)
    expect(calls.get('summarize')).toBe(1)
  })

  it('a 10,000-member chord completes with its callback run exactly once', async () => {
    const { app, calls, double, sum } = await setup(50)
    const n = 10_000
    const job = await app.enqueueWorkflow(chord(group(Array.from({ length: n }, (_, i) => double.with(i))), sum))
    expect(await job.result({ timeoutMs: 30_000 })).toBe(n * (n - 1))
    expect(calls.get('sum')).toBe(1)
    expect(calls.get('double')).toBe(n)
  }, 40_000)

  it('revoking a workflow skips the members that have not started', async () => {
    const app = createApp({ broker: 'memory://', logger: false })
    apps.push(app)
    let ran = 0
    const slow = app.task('wf.slow', async (n: number) => {
      ran++
      await new Promise((r) => setTimeout(r, 50))
      return n
    })
    const job = await app.enqueueWorkflow(chain(slow.with(1), slow, slow, slow))
    await app.worker({ concurrency: 1 }).start()
    await new Promise((r) => setTimeout(r, 20))
    await job.revoke()
    await expect(job.result({ timeoutMs: 2000 })).rejects.toMatchObject({ record: { state: 'revoked' } })
    await new Promise((r) => setTimeout(r, 200))
    expect(ran).toBe(1)
    const record = await job.record()
    expect(record.members.map((m) => m.state)).toEqual(['succeeded', 'revoked', 'pending', 'pending'])
  })

  it('declared tasks bind with .with, and another process can look a workflow up by id', async () => {
    const { app } = await setup()
    const declared = declareTask<number, number>('wf.double')
    const job = await app.enqueueWorkflow(group([declared.with(21)]))
    expect(await job.result({ timeoutMs: 5000 })).toEqual([42])
    const again = await app.workflow<number[]>(job.id)
    expect((await again?.record())?.members).toHaveLength(1)
    expect(await app.workflow('no-such-workflow')).toBeUndefined()
  })
})

describe('workflow types', () => {
  it('a step whose input does not match the previous output is a compile error', () => {
    const app = createApp({ broker: 'memory://', logger: false })
    const toNumber = declareTask<string, number>('t.to-number')
    const toText = declareTask<number, string>('t.to-text')
    const takesList = declareTask<number[], number>('t.sum')
    chain(toNumber.with('1'), toText, toNumber)
    chord(group([toNumber.with('a'), toNumber.with('b')]), takesList)
    // @ts-expect-error toText takes a number; toText outputs a string
    chain(toNumber.with('1'), toText, toText)
    // @ts-expect-error the callback takes number[]; the group outputs string[]
    chord(group([toText.with(1)]), takesList)
    // @ts-expect-error under collect the callback gets Settled<number>[], not number[]
    chord(group([toNumber.with('a')]), takesList, { failure: 'collect' })
    // @ts-expect-error a workflow must start bound: toText needs an input
    void (() => app.enqueueWorkflow(chain(toText, toNumber)))
    expect(true).toBe(true)
  })
})

runWorkflowScenarios({
  name: 'memory broker + memory results',
  createApp: ({ namespace }) =>
    createApp({ broker: 'memory://', logger: false, defaults: { queue: `${namespace}-q` } }),
})
