import type { ScheduleSpec } from '@conveyor/core'
import { nextTicks, planTicks, validateSchedules } from '@conveyor/core/adapter'
import { describe, expect, it } from 'vitest'

const at = (iso: string) => new Date(iso).getTime()
const iso = (ms: number) => new Date(ms).toISOString()

describe('cron ticks across DST (Europe/Berlin)', () => {
  const daily: ScheduleSpec = { name: 'daily-0230', cron: '30 2 * * *', timezone: 'Europe/Berlin', task: 't' }
  const hourly: ScheduleSpec = { name: 'hourly', cron: '0 * * * *', timezone: 'Europe/Berlin', task: 't' }

  it('spring-forward 2026-03-29: 02:30 does not exist and runs once at 03:00 CEST', () => {
    const ticks = nextTicks(daily, at('2026-03-27T12:00:00Z'), 3).map(iso)
    expect(ticks).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:00:00.000Z', // 03:00 CEST: the skipped 02:30, moved to the first valid time
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ])
  })

  it('spring-forward: an hourly schedule has no 02:00 tick (the hour does not exist)', () => {
    const ticks = nextTicks(hourly, at('2026-03-28T23:30:00Z'), 4).map(iso)
    // 01:00 CET, 03:00 CEST, 04:00 CEST, 05:00 CEST: three real hours apart by one each
    expect(ticks).toEqual([
      '2026-03-29T00:00:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-29T02:00:00.000Z',
      '2026-03-29T03:00:00.000Z',
    ])
  })

  it('fall-back 2026-10-25: 02:30 exists twice and runs once, at the first (CEST) occurrence', () => {
    const ticks = nextTicks(daily, at('2026-10-23T12:00:00Z'), 3).map(iso)
    expect(ticks).toEqual([
      '2026-10-24T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T00:30:00.000Z', // 02:30 CEST, first occurrence; not again at 01:30Z (02:30 CET)
      '2026-10-26T01:30:00.000Z', // 02:30 CET
    ])
  })

  it('fall-back: an hourly schedule runs every real hour, both 02:00s included', () => {
    const ticks = nextTicks(hourly, at('2026-10-24T23:30:00Z'), 4).map(iso)
    expect(ticks).toEqual([
      '2026-10-25T00:00:00.000Z', // 02:00 CEST
      '2026-10-25T01:00:00.000Z', // 02:00 CET
      '2026-10-25T02:00:00.000Z', // 03:00 CET
      '2026-10-25T03:00:00.000Z',
    ])
  })

  it('planTicks over the spring-forward night fires the moved tick once', () => {
    const plan = planTicks(daily, at('2026-03-28T01:30:00Z'), at('2026-03-29T01:00:00.200Z'))
    expect(plan.fire.map(iso)).toEqual(['2026-03-29T01:00:00.000Z'])
    expect(plan.skipped).toBe(0)
  })
})

describe('misfire policy after downtime', () => {
  const every10s: ScheduleSpec = { name: 'ten', everyMs: 10_000, task: 't' }
  const down = { last: at('2026-01-01T00:00:00Z'), now: at('2026-01-01T00:01:00.300Z') }

  it('skip: drops the missed ticks and fires the one on time', () => {
    const plan = planTicks(every10s, down.last, down.now)
    expect(plan.fire.map(iso)).toEqual(['2026-01-01T00:01:00.000Z'])
    expect(plan.skipped).toBe(5)
    expect(plan.cursor).toBe(at('2026-01-01T00:01:00Z'))
  })

  it('run-once: one catch-up run for all missed ticks, then the on-time one', () => {
    const plan = planTicks({ ...every10s, misfire: 'run-once' }, down.last, down.now)
    expect(plan.fire.map(iso)).toEqual(['2026-01-01T00:00:50.000Z', '2026-01-01T00:01:00.000Z'])
    expect(plan.caughtUp).toBe(5)
  })

  it('run-once on cron: a week of missed minutes becomes one run', () => {
    const spec: ScheduleSpec = { name: 'm', cron: '* * * * *', task: 't', misfire: 'run-once' }
    const plan = planTicks(spec, at('2026-01-01T00:00:00Z'), at('2026-01-08T00:00:30Z'))
    expect(plan.fire.map(iso)).toEqual(['2026-01-08T00:00:00.000Z'])
    expect(plan.caughtUp).toBeGreaterThanOrEqual(1000)
  })

  it('a schedule that never ran owes nothing from before now', () => {
    const plan = planTicks(every10s, undefined, at('2026-01-01T00:00:05Z'))
    expect(plan.fire).toEqual([])
    expect(plan.skipped).toBe(0)
  })

  it('fires nothing between ticks', () => {
    const plan = planTicks(every10s, at('2026-01-01T00:00:00Z'), at('2026-01-01T00:00:09Z'))
    expect(plan).toMatchObject({ fire: [], skipped: 0 })
  })
})

describe('validation', () => {
  it('rejects bad schedules with a message naming them', () => {
    expect(() => validateSchedules([{ name: 'x', task: 't' }])).toThrow(/exactly one of cron and everyMs/)
    expect(() => validateSchedules([{ name: 'x', cron: 'nope', task: 't' }])).toThrow(/schedule "x": cannot use cron/)
    expect(() => validateSchedules([{ name: 'x', cron: '* * * * *', timezone: 'Mars/Olympus', task: 't' }])).toThrow(
      /Mars\/Olympus/,
    )
    const ok: ScheduleSpec = { name: 'x', everyMs: 10, task: 't' }
    expect(() => validateSchedules([ok, ok])).toThrow(/declared twice/)
  })
})
