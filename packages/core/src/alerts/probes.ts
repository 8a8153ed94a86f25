import { InvalidOptionsError } from '../errors/invalid-options-error'
import { nextTick, validateSchedules } from '../ops/schedule'
import type { AlertInputs, TaskOutcome } from './inputs'
import type { AlertRule, DeadLettersGrowingRule, FailureRateRule, MissedTickRule } from './rules'

/** A rule made runnable: what to read, and when the reading fires or clears the alert. */
export interface Probe {
  readonly labels: Readonly<Record<string, string>>
  /** The firing threshold, for notifications. */
  readonly threshold: number
  /** The value now; undefined when it cannot be read (the alert keeps its state). */
  measure(): Promise<number | undefined>
  fires(value: number): boolean
  clears(value: number): boolean
  readonly summary: string
  close(): void
}

const above = (fireAbove: number, clearAtOrBelow = fireAbove) => ({
  threshold: fireAbove,
  fires: (v: number) => v > fireAbove,
  clears: (v: number) => v <= clearAtOrBelow,
})

function checkNumber(rule: AlertRule, field: string, value: unknown, min = 0): void {
  if (value === undefined) return
  if (!(typeof value === 'number' && Number.isFinite(value) && value >= min)) {
    throw new InvalidOptionsError(`alert "${rule.name}": ${field} must be a number ≥ ${min}, got ${String(value)}`)
  }
}

/** Throws `InvalidOptionsError` naming the rule and field that is wrong (and that names are unique). */
export function validateRules(rules: readonly AlertRule[]): void {
  const names = new Set<string>()
  for (const rule of rules) {
    if (typeof rule?.name !== 'string' || rule.name === '') throw new InvalidOptionsError('an alert rule needs a name')
    if (names.has(rule.name)) throw new InvalidOptionsError(`alert "${rule.name}" is declared twice`)
    names.add(rule.name)
    checkNumber(rule, 'forMs', rule.forMs)
    checkNumber(rule, 'resolveForMs', rule.resolveForMs)
    const queue = 'queue' in rule ? rule.queue : undefined
    switch (rule.kind) {
      case 'backlog':
      case 'custom':
        checkNumber(rule, 'above', rule.above, Number.NEGATIVE_INFINITY)
        checkNumber(rule, 'resolveBelow', rule.resolveBelow, Number.NEGATIVE_INFINITY)
        break
      case 'oldest-waiting':
        checkNumber(rule, 'olderThanMs', rule.olderThanMs)
        checkNumber(rule, 'resolveBelowMs', rule.resolveBelowMs)
        break
      case 'dead-letters-growing':
        checkNumber(rule, 'windowMs', rule.windowMs, 1)
        checkNumber(rule, 'increaseAbove', rule.increaseAbove)
        break
      case 'failure-rate':
        checkNumber(rule, 'windowMs', rule.windowMs, 1)
        checkNumber(rule, 'minRuns', rule.minRuns, 1)
        if (!(rule.above >= 0 && rule.above < 1)) {
          throw new InvalidOptionsError(`alert "${rule.name}": above is a ratio in [0, 1), got ${rule.above}`)
        }
        break
      case 'missed-tick':
        checkNumber(rule, 'graceMs', rule.graceMs)
        validateSchedules([rule.schedule])
        break
      case 'no-worker':
        break
      default:
        throw new InvalidOptionsError(
          `alert "${(rule as AlertRule).name}": unknown kind "${String((rule as { kind: unknown }).kind)}"`,
        )
    }
    if (queue !== undefined && (typeof queue !== 'string' || queue === '')) {
      throw new InvalidOptionsError(`alert "${rule.name}": queue must be a non-empty string`)
    }
    if ((rule.kind === 'backlog' || rule.kind === 'custom') && typeof rule.above !== 'number') {
      throw new InvalidOptionsError(`alert "${rule.name}": above is required`)
    }
    if (rule.kind === 'custom' && typeof rule.measure !== 'function') {
      throw new InvalidOptionsError(`alert "${rule.name}": a custom rule needs a measure function`)
    }
  }
}

/** Make a rule runnable against `inputs`. Call `validateRules` first. */
export function probeOf(rule: AlertRule, inputs: AlertInputs): Probe {
  const none = () => undefined
  switch (rule.kind) {
    case 'backlog':
      return {
        labels: { queue: rule.queue },
        summary: `queue ${rule.queue} has more than ${rule.above} ready messages`,
        ...above(rule.above, rule.resolveBelow),
        measure: async () => (await inputs.queueStats(rule.queue)).ready,
        close: none,
      }
    case 'oldest-waiting':
      return {
        labels: { queue: rule.queue },
        summary: `the oldest ready message of ${rule.queue} has waited over ${rule.olderThanMs} ms`,
        ...above(rule.olderThanMs, rule.resolveBelowMs),
        measure: async () => {
          const stats = await inputs.queueStats(rule.queue)
          if (stats.ready === 0) return 0
          // A broker that cannot tell the age leaves the alert as it is rather than calling it healthy.
          return stats.oldestReadyAt === undefined ? undefined : Math.max(0, inputs.now() - stats.oldestReadyAt)
        },
        close: none,
      }
    case 'no-worker':
      return {
        labels: { queue: rule.queue },
        summary: `no live worker consumes ${rule.queue}`,
        threshold: 1,
        fires: (v) => v < 1,
        clears: (v) => v >= 1,
        measure: async () =>
          (await inputs.heartbeats()).filter((b) => b.state === 'running' && b.queues.includes(rule.queue)).length,
        close: none,
      }
    case 'dead-letters-growing':
      return deadLettersProbe(rule, inputs)
    case 'missed-tick':
      return missedTickProbe(rule, inputs)
    case 'failure-rate':
      return failureRateProbe(rule, inputs)
    case 'custom':
      return {
        labels: {},
        summary: `${rule.name} is above ${rule.above}`,
        ...above(rule.above, rule.resolveBelow),
        measure: async () => rule.measure(inputs),
        close: none,
      }
  }
}

function deadLettersProbe(rule: DeadLettersGrowingRule, inputs: AlertInputs): Probe {
  // Readings inside the window (plus the last one before it, the baseline): the growth is now minus the baseline.
  const samples: { at: number; dead: number }[] = []
  return {
    labels: { queue: rule.queue },
    summary: `dead letters of ${rule.queue} grew within ${rule.windowMs} ms`,
    ...above(rule.increaseAbove ?? 0),
    async measure() {
      const dead = (await inputs.queueStats(rule.queue)).dead
      const now = inputs.now()
      samples.push({ at: now, dead })
      while (samples.length > 1 && samples[1]!.at <= now - rule.windowMs) samples.shift()
      return dead - samples[0]!.dead
    },
    close() {},
  }
}

function missedTickProbe(rule: MissedTickRule, inputs: AlertInputs): Probe {
  const graceMs = rule.graceMs ?? 60_000
  // A schedule that never ran is owed its first tick after the evaluator started looking.
  const watchingSince = inputs.now()
  return {
    labels: { schedule: rule.schedule.name },
    summary: `schedule ${rule.schedule.name} missed a tick (over ${graceMs} ms late)`,
    threshold: 0,
    fires: (v) => v > 0,
    clears: (v) => v <= 0,
    async measure() {
      const last = (await inputs.lastTick(rule.schedule.name)) ?? watchingSince
      const due = nextTick(rule.schedule, last)
      if (due === undefined) return 0
      // Lateness past the grace period: > 0 means a tick nobody claimed.
      return Math.max(0, inputs.now() - due - graceMs)
    },
    close() {},
  }
}

function failureRateProbe(rule: FailureRateRule, inputs: AlertInputs): Probe {
  // Counts per second: bounded memory whatever the throughput.
  const buckets = new Map<number, { runs: number; failed: number }>()
  const matches = (o: TaskOutcome) =>
    (rule.task === undefined || o.task === rule.task) && (rule.queue === undefined || o.queue === rule.queue)
  const off = inputs.outcomes.subscribe((o) => {
    if (!matches(o)) return
    const second = Math.floor(o.at / 1000)
    let bucket = buckets.get(second)
    if (bucket === undefined) {
      bucket = { runs: 0, failed: 0 }
      buckets.set(second, bucket)
    }
    bucket.runs++
    if (o.outcome !== 'succeeded') bucket.failed++
  })
  const labels: Record<string, string> = {}
  if (rule.task !== undefined) labels.task = rule.task
  if (rule.queue !== undefined) labels.queue = rule.queue
  return {
    labels,
    summary: `over ${rule.above * 100}% of ${rule.task ?? rule.queue ?? 'all'} runs failed in ${rule.windowMs} ms`,
    ...above(rule.above, rule.resolveBelow),
    async measure() {
      const from = Math.floor((inputs.now() - rule.windowMs) / 1000)
      let runs = 0
      let failed = 0
      for (const [second, bucket] of buckets) {
        if (second < from) buckets.delete(second)
        else {
          runs += bucket.runs
          failed += bucket.failed
        }
      }
      // Too few runs to call it a rate: report 0, which clears a firing alert once traffic is gone.
      return runs < (rule.minRuns ?? 5) ? 0 : failed / runs
    },
    close: off,
  }
}
