import { hostname } from 'node:os'
import type { App } from '../app/create-app'
import { ConveyorError } from '../errors/conveyor-error'
import { InvalidOptionsError } from '../errors/invalid-options-error'
import type { Logger } from '../logging/logger'
import type { CoordinationStore, Lease } from '../ops/coordination'
import { sleep } from '../util/sleep'
import { IncidentLedger } from './incidents'
import { type AlertInputs, appInputs } from './inputs'
import { logNotifier } from './notifiers'
import { type Probe, probeOf, validateRules } from './probes'
import type { AlertNotification, AlertRule, AlertState, Notifier } from './rules'
import { AlertTracker } from './state'

/** The lease every evaluator of a fleet competes for (per coordination store and prefix). */
export const ALERTS_LEASE = 'conveyor:alerts'

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

interface Watched {
  readonly rule: AlertRule
  readonly probe: Probe
  readonly tracker: AlertTracker
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
  const readTimeoutMs = options.readTimeoutMs ?? 5000
  if (!(intervalMs > 0)) throw new InvalidOptionsError(`createAlerts: intervalMs must be > 0, got ${intervalMs}`)
  if (!(leaseTtlMs >= 300)) throw new InvalidOptionsError(`createAlerts: leaseTtlMs must be ≥ 300, got ${leaseTtlMs}`)
  const store = options.coordination ?? app.coordination
  const id = options.id ?? `${hostname()}:${process.pid}`
  const log = (options.logger ?? app.logger).child({ alerts: id })
  const notifiers = options.notifiers ?? [logNotifier(log)]
  const inputs = options.inputs ?? appInputs(app, store)
  // Renew well inside the TTL, and look at the rules at least that often.
  const stepMs = Math.min(intervalMs, Math.floor(leaseTtlMs / 3))
  let watched: Watched[] = []
  let lease: Lease | undefined
  let controller: AbortController | undefined
  let loop: Promise<void> | undefined
  const unreadable = new Set<string>()
  const incidents = new IncidentLedger(store, id, log)

  const watch = () => {
    for (const w of watched) w.probe.close()
    watched = options.rules.map((rule) => ({
      rule,
      probe: probeOf(rule, inputs),
      tracker: new AlertTracker(rule.forMs ?? 0, rule.resolveForMs ?? rule.forMs ?? 0),
    }))
  }
  watch()

  const notify = (n: AlertNotification) => {
    for (const notifier of notifiers) {
      try {
        Promise.resolve(notifier(n)).catch((error: unknown) =>
          log.error({ err: error, alert: n.rule }, 'alert notifier failed'),
        )
      } catch (error) {
        log.error({ err: error, alert: n.rule }, 'alert notifier threw')
      }
    }
  }

  const read = async (w: Watched): Promise<number | undefined> => {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${readTimeoutMs} ms`)), readTimeoutMs)
    })
    try {
      const value = await Promise.race([w.probe.measure(), timeout])
      if (unreadable.delete(w.rule.name)) log.info({ alert: w.rule.name }, 'alert input readable again')
      return value
    } catch (error) {
      if (!unreadable.has(w.rule.name)) log.warn({ err: error, alert: w.rule.name }, 'cannot read an alert input')
      unreadable.add(w.rule.name)
      return undefined
    } finally {
      clearTimeout(timer)
    }
  }

  const evaluate = async (): Promise<AlertNotification[]> => {
    const sent: AlertNotification[] = []
    await Promise.all(
      watched.map(async (w) => {
        const value = await read(w)
        if (value === undefined) return
        const now = inputs.now()
        const change = w.tracker.observe({ holds: w.probe.fires(value), clear: w.probe.clears(value), value }, now)
        if (change === 'none') return
        // Recorded in the store first: only the evaluator that opens (or closes) the incident notifies.
        const mine =
          change === 'fired' ? await incidents.open(w.rule.name, w.tracker.since) : await incidents.close(w.rule.name)
        if (!mine) return
        const n: AlertNotification = {
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
          evaluator: id,
        }
        sent.push(n)
        notify(n)
      }),
    )
    return sent
  }

  /** Carry on the incidents a previous holder left open: firing, without a second notification. */
  const adoptOpenIncidents = async () => {
    for (const w of watched) {
      const since = await incidents.openSince(w.rule.name)
      if (since !== undefined) w.tracker.adopt(since)
    }
  }

  /** Hold the lease: take it when free, renew it when held. False when someone else leads. */
  const lead = async (): Promise<boolean> => {
    if (lease === undefined) {
      lease = await store.acquireLease(ALERTS_LEASE, id, leaseTtlMs)
      if (lease === undefined) return false
      log.info({ token: lease.token }, 'alert evaluator leading')
      await adoptOpenIncidents()
      return true
    }
    lease = await store.renewLease(lease, leaseTtlMs)
    if (lease === undefined) {
      // Another evaluator took over (we paused past the TTL): its notifications stand; ours start over if we lead again.
      log.warn('alert evaluator lost its lease; standing by')
      watch()
    }
    return lease !== undefined
  }

  const run = async (signal: AbortSignal) => {
    let lastEvaluation = 0
    let failing = false
    while (!signal.aborted) {
      try {
        if (await lead()) {
          if (Date.now() - lastEvaluation >= intervalMs - 1) {
            lastEvaluation = Date.now()
            await evaluate()
          }
        }
        if (failing) log.info('alert evaluator store reachable again')
        failing = false
      } catch (error) {
        if (!failing) log.error({ err: error }, 'alert evaluator could not reach its coordination store; retrying')
        failing = true
      }
      await sleep(stepMs, signal).catch(() => undefined)
    }
  }

  return {
    id,
    get leading() {
      return lease !== undefined
    },
    async start() {
      if (controller !== undefined) throw new ConveyorError('CONVEYOR_ALERTS_STATE', 'alert evaluator already started')
      if (store.scope === 'process') {
        log.warn('alerts: the coordination store is process-local; run one evaluator at most or pass a shared store')
      }
      await store.connect()
      controller = new AbortController()
      loop = run(controller.signal)
    },
    async stop() {
      controller?.abort()
      await loop
      loop = undefined
      for (const w of watched) w.probe.close()
      if (lease !== undefined) {
        const held = lease
        lease = undefined
        await store.releaseLease(held).catch(() => undefined)
      }
    },
    evaluate,
    status: () =>
      watched.map((w) => ({
        rule: w.rule.name,
        state: w.tracker.state,
        ...(w.tracker.value !== undefined ? { value: w.tracker.value } : {}),
        ...(w.tracker.state !== 'inactive' ? { since: w.tracker.since } : {}),
      })),
  }
}
