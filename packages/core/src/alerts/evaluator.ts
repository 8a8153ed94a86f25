import { hostname } from 'node:os'
import type { App } from '../app/create-app'
import { InvalidOptionsError } from '../errors/invalid-options-error'
import type { Logger } from '../logging/logger'
import type { CoordinationStore } from '../ops/coordination'
import { RuleEvaluation } from './evaluation'
import { IncidentLedger } from './incidents'
import { type AlertInputs, appInputs } from './inputs'
import { AlertsLeadership } from './leadership'
import { logNotifier } from './notifiers'
import { validateRules } from './probes'
import type { AlertNotification, AlertRule, AlertState, Notifier } from './rules'

/** The lease every evaluator of a fleet competes for (per coordination store and prefix). */
export { ALERTS_LEASE } from './leadership'

export interface AlertsOptions {
  readonly rules: readonly AlertRule[]
  /** Who hears about firing and resolved alerts. Defaults to a log line on the app's logger. */
  readonly notifiers?: readonly Notifier[]
  /** Where the evaluator lease is held; a shared store (Redis) makes one evaluator per fleet. Defaults to the app's. */
  readonly coordination?: CoordinationStore
  /** How often rules are evaluated. Defaults to 15 s. */
  readonly intervalMs?: number
  /** How long the lease outlives a dead evaluator: the failover time. Defaults to 30 s; at least 3× the renew step. */
  readonly leaseTtlMs?: number
  /** How long one rule's reading may take before it counts as unreadable (the alert keeps its state). 5 s default. */
  readonly readTimeoutMs?: number
  /** This evaluator's id in notifications and logs. Defaults to `host:pid`. */
  readonly id?: string
  /** What rules read. Defaults to the app's broker stats, the store's heartbeats and ticks, local task outcomes. */
  readonly inputs?: AlertInputs
  readonly logger?: Logger
}

/**
 * What an app module exports as `alerts` for `conveyor alerts` (and the dashboard): the rules with their notifiers
 * and timing. The CLI supplies the coordination store (the module's `coordination`) and the process id.
 */
export type AlertsConfig = Omit<AlertsOptions, 'coordination' | 'inputs' | 'id' | 'logger'>

/** One rule as the evaluator sees it now. */
export interface AlertStatus {
  readonly rule: string
  readonly state: AlertState
  readonly value?: number
  /** Epoch ms when the current incident (pending or firing) started. */
  readonly since?: number
}

export interface Alerts {
  readonly id: string
  /** True while this evaluator holds the lease (and so is the one evaluating). */
  readonly leading: boolean
  /** Compete for the lease and evaluate while holding it, until `stop()`. */
  start(): Promise<void>
  /** Stop evaluating and give the lease up, so a standby takes over at once. Firing alerts are not resolved. */
  stop(): Promise<void>
  /** Evaluate every rule once, regardless of the lease (the loop's body; for tests and one-shot checks). */
  evaluate(): Promise<AlertNotification[]>
  status(): AlertStatus[]
}

/**
 * Evaluate alert rules: any number of processes may run this; the one holding the coordination store's lease
 * evaluates, the others wait to take over when it stops renewing (a crash: within `leaseTtlMs`). Notifications go
 * out without being awaited: a slow webhook never delays the next evaluation.
 */
export function createAlerts(
  app: Pick<App, 'broker' | 'events' | 'logger' | 'coordination'>,
  options: AlertsOptions,
): Alerts {
  validateRules(options.rules)
  const intervalMs = options.intervalMs ?? 15_000
  const leaseTtlMs = options.leaseTtlMs ?? 30_000
  if (!(intervalMs > 0)) throw new InvalidOptionsError(`createAlerts: intervalMs must be > 0, got ${intervalMs}`)
  if (!(leaseTtlMs >= 300)) throw new InvalidOptionsError(`createAlerts: leaseTtlMs must be ≥ 300, got ${leaseTtlMs}`)
  const store = options.coordination ?? app.coordination
  const id = options.id ?? `${hostname()}:${process.pid}`
  const log = (options.logger ?? app.logger).child({ alerts: id })
  const evaluation = new RuleEvaluation({
    rules: options.rules,
    inputs: options.inputs ?? appInputs(app, store),
    incidents: new IncidentLedger(store, id, log),
    notifiers: options.notifiers ?? [logNotifier(log)],
    readTimeoutMs: options.readTimeoutMs ?? 5000,
    id,
    log,
  })
  const leadership = new AlertsLeadership({ store, id, intervalMs, leaseTtlMs, log, evaluation })
  return {
    id,
    get leading() {
      return leadership.lease !== undefined
    },
    start: () => leadership.start(),
    stop: () => leadership.stop(),
    evaluate: () => evaluation.evaluate(),
    status: () => evaluation.status(),
  }
}
