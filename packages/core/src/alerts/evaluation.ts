import type { Logger } from '../logging/logger'
import { withTimeout } from '../util/with-timeout'
import type { AlertStatus } from './evaluator'
import type { IncidentLedger } from './incidents'
import type { AlertInputs } from './inputs'
import { type Probe, probeOf } from './probes'
import type { AlertNotification, AlertRule, Notifier } from './rules'
import { AlertTracker, type Transition } from './state'

/** One rule being watched: how it is measured and where its alert stands. */
interface Watched {
  readonly rule: AlertRule
  readonly probe: Probe
  readonly tracker: AlertTracker
}

/** What evaluating the rules works with. */
export interface RuleEvaluationParts {
  readonly rules: readonly AlertRule[]
  readonly inputs: AlertInputs
  readonly incidents: IncidentLedger
  readonly notifiers: readonly Notifier[]
  readonly readTimeoutMs: number
  /** The evaluator's id, in notifications. */
  readonly id: string
  readonly log: Logger
}

/**
 * The rules and the state of their alerts: read each rule's input, move its alert on, record the incident and notify
 * when it fires or resolves. Notifications go out without being awaited: a slow webhook never delays the next
 * evaluation.
 */
export class RuleEvaluation {
  private watched: Watched[] = []
  /** Rules whose input could not be read last time (logged once until readable again). */
  private readonly unreadable = new Set<string>()

  constructor(private readonly parts: RuleEvaluationParts) {
    this.watch()
  }

  /** Start every alert over from inactive, with fresh probes. */
  watch(): void {
    this.close()
    this.watched = this.parts.rules.map((rule) => ({
      rule,
      probe: probeOf(rule, this.parts.inputs),
      tracker: new AlertTracker(rule.forMs ?? 0, rule.resolveForMs ?? rule.forMs ?? 0),
    }))
  }

  close(): void {
    for (const w of this.watched) w.probe.close()
  }

  async evaluate(): Promise<AlertNotification[]> {
    const sent: AlertNotification[] = []
    await Promise.all(
      this.watched.map(async (w) => {
        const value = await this.read(w)
        if (value === undefined) return
        const now = this.parts.inputs.now()
        const change = w.tracker.observe({ holds: w.probe.fires(value), clear: w.probe.clears(value), value }, now)
        if (change === 'none') {
          if (w.tracker.state === 'firing') await this.parts.incidents.keepOpen(w.rule.name, now)
          return
        }
        // Recorded in the store first: only the evaluator that opens (or closes) the incident notifies.
        const { incidents } = this.parts
        const mine =
          change === 'fired' ? await incidents.open(w.rule.name, w.tracker.since) : await incidents.close(w.rule.name)
        if (!mine) return
        const n = this.notification(w, change, value, now)
        sent.push(n)
        this.notify(n)
      }),
    )
    return sent
  }

  /** Carry on the incidents a previous holder left open: firing, without a second notification. */
  async adoptOpenIncidents(): Promise<void> {
    for (const w of this.watched) {
      const since = await this.parts.incidents.openSince(w.rule.name)
      if (since !== undefined) w.tracker.adopt(since)
    }
  }

  status(): AlertStatus[] {
    return this.watched.map((w) => ({
      rule: w.rule.name,
      state: w.tracker.state,
      ...(w.tracker.value !== undefined ? { value: w.tracker.value } : {}),
      ...(w.tracker.state !== 'inactive' ? { since: w.tracker.since } : {}),
    }))
  }

  private async read(w: Watched): Promise<number | undefined> {
    const { log, readTimeoutMs } = this.parts
    try {
      const value = await withTimeout(
        w.probe.measure(),
        readTimeoutMs,
        () => new Error(`no answer within ${readTimeoutMs} ms`),
      )
      if (this.unreadable.delete(w.rule.name)) log.info({ alert: w.rule.name }, 'alert input readable again')
      return value
    } catch (error) {
      if (!this.unreadable.has(w.rule.name)) log.warn({ err: error, alert: w.rule.name }, 'cannot read an alert input')
      this.unreadable.add(w.rule.name)
      return undefined
    }
  }

  private notification(w: Watched, change: Exclude<Transition, 'none'>, value: number, now: number): AlertNotification {
    return {
      rule: w.rule.name,
      kind: w.rule.kind,
      status: change === 'fired' ? 'firing' : 'resolved',
      severity: w.rule.severity ?? 'warning',
      summary: w.rule.summary ?? w.probe.summary,
      value,
      threshold: w.probe.threshold,
      labels: w.probe.labels,
      since: w.tracker.since,
      at: now,
      evaluator: this.parts.id,
    }
  }

  private notify(n: AlertNotification): void {
    for (const notifier of this.parts.notifiers) {
      try {
        Promise.resolve(notifier(n)).catch((error: unknown) =>
          this.parts.log.error({ err: error, alert: n.rule }, 'alert notifier failed'),
        )
      } catch (error) {
        this.parts.log.error({ err: error, alert: n.rule }, 'alert notifier threw')
      }
    }
  }
}
