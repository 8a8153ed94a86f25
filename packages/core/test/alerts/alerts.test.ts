import { createAlerts, UnrecoverableError, webhookNotifier } from '@conveyor/core'
import { AlertTracker, createMemoryCoordination, type TaskOutcome } from '@conveyor/core/adapter'
import { afterEach, describe, expect, it } from 'vitest'
import { captureLogger, sleep, useMemoryApps } from '../helpers'
import { webhookReceiver } from './webhook-receiver'

const makeApp = useMemoryApps()
const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

describe('alert tracker: for and hysteresis', () => {
  const reading = (v: number, fireAbove = 10, clearAtOrBelow = 5) => ({
    holds: v > fireAbove,
    clear: v <= clearAtOrBelow,
    value: v,
  })

  it('fires once the condition held for `forMs`, and never while it flaps inside it', () => {
    const t = new AlertTracker(1000, 1000)
    const seen: string[] = []
    // Flapping: above for 600 ms, below, above again: never 1000 ms in a row.
    for (const [at, v] of [
      [0, 20],
      [600, 20],
      [700, 0],
      [800, 20],
      [1700, 20],
      [1750, 3],
    ] as const) {
      seen.push(t.observe(reading(v), at))
    }
    expect(seen.filter((s) => s !== 'none')).toEqual([])
    expect(t.observe(reading(20), 2000)).toBe('none')
    expect(t.observe(reading(20), 3000)).toBe('fired')
    expect(t.since).toBe(2000)
  })

  it('resolves only below the resolve threshold, held for `resolveForMs`; a relapse keeps one incident', () => {
    const t = new AlertTracker(0, 1000)
    expect(t.observe(reading(20), 0)).toBe('fired')
    // Between thresholds (5 < 8 ≤ 10): neither firing anew nor clearing.
    expect(t.observe(reading(8), 100)).toBe('none')
    expect(t.state).toBe('firing')
    expect(t.observe(reading(1), 200)).toBe('none')
    expect(t.state).toBe('resolving')
    expect(t.observe(reading(20), 700)).toBe('none')
    expect(t.state).toBe('firing')
    expect(t.observe(reading(1), 800)).toBe('none')
    expect(t.observe(reading(1), 1800)).toBe('resolved')
    expect(t.state).toBe('inactive')
  })
})

describe('createAlerts on the memory broker', () => {
  it('sends one firing and one resolved webhook per backlog incident, with a Slack text field', async () => {
    const hook = await webhookReceiver()
    closers.push(hook.close)
    const app = makeApp()
    await app.broker.connect()
    await app.broker.declare({ name: 'bk' })
    const notifier = webhookNotifier({ url: hook.url })
    const alerts = createAlerts(app, {
      rules: [{ name: 'bk-backlog', kind: 'backlog', queue: 'bk', above: 2, resolveBelow: 0, forMs: 150 }],
      notifiers: [notifier],
      intervalMs: 30,
    })
    await alerts.start()
    closers.push(() => alerts.stop())
    for (let i = 0; i < 3; i++) await app.enqueue('t', i, { queue: 'bk' })
    await sleep(400)
    await notifier.flush()
    expect(hook.count('bk-backlog', 'firing')).toBe(1)
    expect(hook.received[0]!.text).toMatch(/^\[FIRING\] bk-backlog \(warning\): queue bk has more than 2 ready/)
    expect(hook.received[0]).toMatchObject({ kind: 'backlog', value: 3, threshold: 2, labels: { queue: 'bk' } })
    await app.broker.purge('bk')
    await sleep(400)
    await notifier.flush()
    expect(hook.count('bk-backlog', 'resolved')).toBe(1)
    expect(hook.received).toHaveLength(2)
  })

  it('keeps evaluating while the webhook fails, and delivers once it answers again', async () => {
    const hook = await webhookReceiver({ failFirst: 2 })
    closers.push(hook.close)
    const app = makeApp()
    const { logger, lines } = captureLogger()
    const calls: string[] = []
    const notifier = webhookNotifier({ url: `${hook.url}?token=s3cret`, retryBaseMs: 50, logger })
    let value = 5
    const alerts = createAlerts(app, {
      rules: [{ name: 'c', kind: 'custom', above: 1, measure: () => value }],
      notifiers: [notifier, (n) => void calls.push(n.status)],
      intervalMs: 20,
      logger,
    })
    await alerts.evaluate()
    value = 0
    await alerts.evaluate()
    // Both evaluations completed and the callback heard both while the webhook was still failing.
    expect(calls).toEqual(['firing', 'resolved'])
    await notifier.flush()
    expect(hook.received.map((r) => r.status)).toEqual(['firing', 'resolved'])
    expect(hook.requests).toBe(4)
    const warnings = lines.filter((l) => l.msg === 'alert webhook failed; retrying')
    expect(warnings).toHaveLength(2)
    expect(JSON.stringify(lines)).not.toContain('s3cret')
  })

  it('counts failure rates from task outcomes and does not fire under minRuns', async () => {
    const listeners: ((o: TaskOutcome) => void)[] = []
    const app = makeApp()
    let now = 100_000
    const alerts = createAlerts(app, {
      rules: [{ name: 'fr', kind: 'failure-rate', task: 'pay', windowMs: 10_000, above: 0.5, minRuns: 4 }],
      notifiers: [],
      inputs: {
        now: () => now,
        queueStats: () => app.broker.stats('x'),
        heartbeats: async () => [],
        lastTick: async () => undefined,
        outcomes: {
          subscribe: (l) => {
            listeners.push(l)
            return () => undefined
          },
        },
      },
    })
    const emit = (outcome: TaskOutcome['outcome'], task = 'pay') => {
      for (const l of listeners) l({ task, queue: 'q', outcome, at: now })
    }
    emit('failed')
    emit('failed')
    emit('failed', 'other')
    expect(await alerts.evaluate()).toEqual([])
    emit('failed')
    emit('succeeded')
    const fired = await alerts.evaluate()
    expect(fired.map((n) => [n.status, n.value])).toEqual([['firing', 0.75]])
    now += 11_000
    expect((await alerts.evaluate()).map((n) => n.status)).toEqual(['resolved'])
  })

  it('fires a missed tick when no scheduler claimed a due tick past its grace', async () => {
    const app = makeApp()
    const coordination = createMemoryCoordination()
    let now = 1_000_000
    const schedule = { name: 'nightly', everyMs: 1000, task: 'x' }
    const alerts = createAlerts(app, {
      rules: [{ name: 'tick', kind: 'missed-tick', schedule, graceMs: 500 }],
      notifiers: [],
      coordination,
      inputs: {
        now: () => now,
        queueStats: () => app.broker.stats('x'),
        heartbeats: () => coordination.listHeartbeats(),
        lastTick: (s) => coordination.lastTick(s),
        outcomes: { subscribe: () => () => undefined },
      },
    })
    await coordination.claimTick('nightly', 1_000_000, 60_000)
    now = 1_001_400 // tick 1_001_000 is due, 400 ms late: inside grace
    expect(await alerts.evaluate()).toEqual([])
    now = 1_001_600
    expect((await alerts.evaluate()).map((n) => n.status)).toEqual(['firing'])
    await coordination.claimTick('nightly', 1_001_000, 60_000)
    expect((await alerts.evaluate()).map((n) => n.status)).toEqual(['resolved'])
  })

  it('notifies an incident once when two evaluators see it (a paused leader): the store records who opened it', async () => {
    const app = makeApp()
    const coordination = createMemoryCoordination()
    let value = 5
    const heard: string[] = []
    const make = (id: string) =>
      createAlerts(app, {
        id,
        coordination,
        rules: [{ name: 'split', kind: 'custom', above: 1, measure: () => value }],
        notifiers: [(n) => void heard.push(`${n.evaluator}:${n.status}`)],
      })
    const [a, b] = [make('a'), make('b')]
    await a.evaluate()
    await b.evaluate()
    expect(b.status()[0]).toMatchObject({ state: 'firing' })
    value = 0
    await b.evaluate()
    await a.evaluate()
    expect(heard).toEqual(['a:firing', 'b:resolved'])
  })

  it('resolves an incident that fired for more than a week (its record is renewed while it fires)', async () => {
    // The open incident's record lived 7 days; once it lapsed, the close found nothing and no resolution was sent.
    let now = Date.parse('2026-01-01T00:00:00Z')
    const coordination = createMemoryCoordination({ now: () => now })
    const app = makeApp()
    let backlog = 5000
    const sent: string[] = []
    const alerts = createAlerts(app, {
      coordination,
      rules: [{ name: 'emails-backlog', kind: 'custom', above: 100, measure: () => backlog }],
      notifiers: [(n) => void sent.push(n.status)],
      inputs: {
        now: () => now,
        queueStats: async () => ({ ready: 0, inFlight: 0, delayed: 0, dead: 0 }),
        heartbeats: async () => [],
        lastTick: async () => undefined,
        outcomes: { subscribe: () => () => {} },
      },
    })
    await alerts.evaluate()
    for (let day = 1; day <= 9; day++) {
      now += 86_400_000
      await alerts.evaluate()
    }
    backlog = 0
    await alerts.evaluate()
    expect(sent).toEqual(['firing', 'resolved'])
    expect(alerts.status()[0]).toMatchObject({ state: 'inactive' })
  })

  it('counts failure rates from the app event stream by default (every process that publishes)', async () => {
    const app = makeApp({ events: true })
    const job = app.task(
      'flaky',
      (n: number) => {
        if (n % 2 === 0) throw new UnrecoverableError('even')
      },
      { queue: 'fr' },
    )
    const alerts = createAlerts(app, {
      rules: [{ name: 'fr-stream', kind: 'failure-rate', queue: 'fr', windowMs: 60_000, above: 0.3, minRuns: 4 }],
      notifiers: [],
    })
    await alerts.evaluate() // subscribes from now on
    await sleep(100)
    const worker = app.worker({ queues: ['fr'] })
    await worker.start()
    for (let n = 0; n < 6; n++) await job.enqueue(n)
    let fired: string[] = []
    for (let i = 0; i < 50 && fired.length === 0; i++) {
      await sleep(100)
      fired = (await alerts.evaluate()).map((n) => `${n.status}:${n.value}`)
    }
    expect(fired).toEqual(['firing:0.5'])
    await worker.stop()
    await alerts.stop()
  })

  it('rejects a rule with a typed error naming it', () => {
    const app = makeApp()
    expect(() =>
      createAlerts(app, { rules: [{ name: 'bad', kind: 'backlog', queue: 'q', above: 1, forMs: -1 }] }),
    ).toThrow(expect.objectContaining({ code: 'CONVEYOR_INVALID_OPTIONS', message: expect.stringContaining('"bad"') }))
  })
})
