import type { ScheduleSpec } from '../ops/schedule'
import type { AlertInputs } from './inputs'

/** What every rule has. */
interface RuleBase {
  /** Unique among the rules; names the alert in notifications and logs. */
  readonly name: string
  /**
   * How long the condition must hold, evaluation after evaluation, before the alert fires. A condition that clears
   * sooner (a flapping queue) never fires. Defaults to 0: fire at the first evaluation that sees it.
   */
  readonly forMs?: number
  /**
   * How long the condition must stay clear before a firing alert resolves. A condition that comes back sooner keeps
   * the one incident open (no second firing). Defaults to `forMs`.
   */
  readonly resolveForMs?: number
  /** Free-form, copied into notifications (`critical`, `warning`, a pager route). Defaults to `warning`. */
  readonly severity?: string
  /** One line a human reads first; defaults to a sentence made from the rule. */
  readonly summary?: string
}

/** Ready messages in `queue` above `above`; resolves at or below `resolveBelow` (hysteresis), default `above`. */
export interface BacklogRule extends RuleBase {
  readonly kind: 'backlog'
  readonly queue: string
  readonly above: number
  readonly resolveBelow?: number
}

/**
 * The oldest ready message of `queue` has waited longer than `olderThanMs`; resolves at or below `resolveBelowMs`
 * (default `olderThanMs`). Needs a broker whose stats report `oldestReadyAt` (memory, Redis, RabbitMQ).
 */
export interface OldestWaitingRule extends RuleBase {
  readonly kind: 'oldest-waiting'
  readonly queue: string
  readonly olderThanMs: number
  readonly resolveBelowMs?: number
}

/** No live worker (by heartbeat, state `running`) consumes `queue`. Needs a shared coordination store. */
export interface NoWorkerRule extends RuleBase {
  readonly kind: 'no-worker'
  readonly queue: string
}

/** The dead letters of `queue` grew by more than `increaseAbove` (default 0) within the last `windowMs`. */
export interface DeadLettersGrowingRule extends RuleBase {
  readonly kind: 'dead-letters-growing'
  readonly queue: string
  readonly windowMs: number
  readonly increaseAbove?: number
}

/**
 * A tick of `schedule` is more than `graceMs` (default 60 s) overdue: no scheduler in the fleet claimed it. Reads the
 * schedule's last claimed tick from the coordination store the schedulers share.
 */
export interface MissedTickRule extends RuleBase {
  readonly kind: 'missed-tick'
  readonly schedule: ScheduleSpec<unknown>
  readonly graceMs?: number
}

/**
 * The share of runs that ended failed or dead-lettered, among runs that ended (succeeded, failed, dead-lettered),
 * over the last `windowMs`, is above `above` (0–1); resolves at or below `resolveBelow` (default `above`). Filtered
 * by `task` and/or `queue`. Runs fewer than `minRuns` (default 5) in the window never fire. Reads the outcome feed
 * (`AlertInputs.outcomes`).
 */
export interface FailureRateRule extends RuleBase {
  readonly kind: 'failure-rate'
  readonly task?: string
  readonly queue?: string
  readonly windowMs: number
  readonly above: number
  readonly resolveBelow?: number
  readonly minRuns?: number
}

/**
 * Anything else: `measure` reads a number (undefined = could not tell; the alert keeps its state), which fires above
 * `above` and resolves at or below `resolveBelow` (default `above`).
 */
export interface CustomRule extends RuleBase {
  readonly kind: 'custom'
  readonly measure: (inputs: AlertInputs) => Promise<number | undefined> | number | undefined
  readonly above: number
  readonly resolveBelow?: number
}

export type AlertRule =
  | BacklogRule
  | OldestWaitingRule
  | NoWorkerRule
  | DeadLettersGrowingRule
  | MissedTickRule
  | FailureRateRule
  | CustomRule

/** Where an alert is in its life. */
export type AlertState = 'inactive' | 'pending' | 'firing' | 'resolving'

/** What notifiers receive: an alert started firing, or resolved. */
export interface AlertNotification {
  readonly rule: string
  readonly kind: AlertRule['kind']
  readonly status: 'firing' | 'resolved'
  readonly severity: string
  /** The rule's summary, or one made from it. */
  readonly summary: string
  /** The value measured at this evaluation (backlog size, age in ms, failure ratio…). */
  readonly value: number
  /** The firing threshold. */
  readonly threshold: number
  /** The queue, task or schedule the rule watches, when it has one. */
  readonly labels: Readonly<Record<string, string>>
  /** Epoch ms when the condition started holding (the incident's start). */
  readonly since: number
  /** Epoch ms of this notification. */
  readonly at: number
  /** Id of the evaluator that sent it (`host:pid`). */
  readonly evaluator: string
}

/** Something that is told about firing and resolved alerts. May be async; a rejection is logged, never retried here. */
export type Notifier = (notification: AlertNotification) => void | Promise<void>
