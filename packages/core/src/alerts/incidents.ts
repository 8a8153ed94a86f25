import type { Logger } from '../logging/logger'
import type { CoordinationStore } from '../ops/coordination'

/** How long an open incident's marker is kept: an incident open longer may be notified again after a failover. */
export const INCIDENT_TTL_MS = 7 * 86_400_000

/**
 * Open incidents, recorded in the coordination store so that they outlive the evaluator: a new lease holder takes
 * over a firing alert without firing it again, and resolves it once (whoever resolves first). Built on the store's
 * atomic claim-or-get (`claimIdempotencyKey` under `conveyor:alert:<rule>`), which is also what makes two evaluators
 * that briefly both think they lead (a paused process) notify once between them.
 */
export class IncidentLedger {
  private readonly holders = new Map<string, string>()

  constructor(
    private readonly store: CoordinationStore,
    private readonly owner: string,
    private readonly log: Logger,
  ) {}

  private key(rule: string): string {
    return `conveyor:alert:${rule}`
  }

  /** Open `rule`'s incident. True when this evaluator opened it (notify); false when one was already open. */
  async open(rule: string, since: number): Promise<boolean> {
    const holder = JSON.stringify({ since, by: this.owner })
    try {
      const claim = await this.store.claimIdempotencyKey(this.key(rule), holder, INCIDENT_TTL_MS)
      this.holders.set(rule, claim.claimed ? holder : claim.holder)
      return claim.claimed
    } catch (error) {
      // Better a duplicate page than a silent one.
      this.log.warn({ err: error, alert: rule }, 'could not record the incident; notifying anyway')
      return true
    }
  }

  /** Close `rule`'s incident. True when this evaluator closed it (notify). */
  async close(rule: string): Promise<boolean> {
    const holder = this.holders.get(rule)
    this.holders.delete(rule)
    if (holder === undefined) return true
    try {
      return await this.store.releaseIdempotencyKey(this.key(rule), holder)
    } catch (error) {
      this.log.warn({ err: error, alert: rule }, 'could not close the recorded incident; notifying anyway')
      return true
    }
  }

  /** The start of `rule`'s open incident, if another evaluator left one open (read when taking the lease). */
  async openSince(rule: string): Promise<number | undefined> {
    const probe = JSON.stringify({ probe: this.owner })
    const claim = await this.store.claimIdempotencyKey(this.key(rule), probe, 60_000)
    if (claim.claimed) {
      await this.store.releaseIdempotencyKey(this.key(rule), probe)
      return undefined
    }
    this.holders.set(rule, claim.holder)
    const since = (JSON.parse(claim.holder) as { since?: unknown }).since
    return typeof since === 'number' ? since : Date.now()
  }
}
