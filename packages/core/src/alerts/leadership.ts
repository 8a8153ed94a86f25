import { ConveyorError } from '../errors/conveyor-error'
import type { Logger } from '../logging/logger'
import type { CoordinationStore, Lease } from '../ops/coordination'
import { sleep } from '../util/sleep'
import type { RuleEvaluation } from './evaluation'

/** The lease every evaluator of a fleet competes for (per coordination store and prefix). */
export const ALERTS_LEASE = 'conveyor:alerts'

/** What competing for the lease works with. */
export interface LeadershipParts {
  readonly store: CoordinationStore
  readonly id: string
  readonly intervalMs: number
  readonly leaseTtlMs: number
  readonly log: Logger
  readonly evaluation: RuleEvaluation
}

/**
 * The evaluator loop: hold the lease (take it when free, renew it when held) and evaluate the rules while holding it;
 * stand by otherwise, ready to take over when the holder stops renewing.
 */
export class AlertsLeadership {
  lease: Lease | undefined
  private controller: AbortController | undefined
  private loop: Promise<void> | undefined
  /** Renew well inside the TTL, and look at the rules at least that often. */
  private readonly stepMs: number

  constructor(private readonly parts: LeadershipParts) {
    this.stepMs = Math.min(parts.intervalMs, Math.floor(parts.leaseTtlMs / 3))
  }

  async start(): Promise<void> {
    const { store, log } = this.parts
    if (this.controller !== undefined) {
      throw new ConveyorError('CONVEYOR_ALERTS_STATE', 'alert evaluator already started')
    }
    if (store.scope === 'process') {
      log.warn('alerts: the coordination store is process-local; run one evaluator at most or pass a shared store')
    }
    await store.connect()
    this.controller = new AbortController()
    this.loop = this.run(this.controller.signal)
  }

  async stop(): Promise<void> {
    this.controller?.abort()
    await this.loop
    this.loop = undefined
    this.parts.evaluation.close()
    if (this.lease !== undefined) {
      const held = this.lease
      this.lease = undefined
      await this.parts.store.releaseLease(held).catch(() => undefined)
    }
  }

  /** Hold the lease: take it when free, renew it when held. False when someone else leads. */
  private async lead(): Promise<boolean> {
    const { store, id, leaseTtlMs, log, evaluation } = this.parts
    if (this.lease === undefined) {
      this.lease = await store.acquireLease(ALERTS_LEASE, id, leaseTtlMs)
      if (this.lease === undefined) return false
      log.info({ token: this.lease.token }, 'alert evaluator leading')
      await evaluation.adoptOpenIncidents()
      return true
    }
    this.lease = await store.renewLease(this.lease, leaseTtlMs)
    if (this.lease === undefined) {
      // Another evaluator took over (we paused past the TTL): its notifications stand; ours start over if we lead again.
      log.warn('alert evaluator lost its lease; standing by')
      evaluation.watch()
    }
    return this.lease !== undefined
  }

  private async run(signal: AbortSignal): Promise<void> {
    const { intervalMs, log, evaluation } = this.parts
    let lastEvaluation = 0
    let failing = false
    while (!signal.aborted) {
      try {
        if (await this.lead()) {
          if (Date.now() - lastEvaluation >= intervalMs - 1) {
            lastEvaluation = Date.now()
            await evaluation.evaluate()
          }
        }
        if (failing) log.info('alert evaluator store reachable again')
        failing = false
      } catch (error) {
        if (!failing) log.error({ err: error }, 'alert evaluator could not reach its coordination store; retrying')
        failing = true
      }
      await sleep(this.stepMs, signal).catch(() => undefined)
    }
  }
}
