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
  /** When this evaluator last wrote each open incident's marker (its TTL runs from then). */
  private readonly writtenAt = new Map<string, number>()

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
      this.writtenAt.set(rule, since)
      return claim.claimed
    } catch (error) {
      // Better a duplicate page than a silent one.
      this.log.warn({ err: error, alert: rule }, 'could not record the incident; notifying anyway')
      return true
    }
  }

  /**
   * Keep `rule`'s open incident recorded while it fires: its marker is written again once half its TTL has passed.
   * A marker left to lapse (an incident open for more than a week) made the close find nothing to release, and the
   * resolution was never sent. Rewriting is a release and a claim: an evaluator that claims in between (two that
   * both think they lead) opens the incident again, a duplicate page rather than a silent one.
   */
  async keepOpen(rule: string, now: number): Promise<void> {
    const holder = this.holders.get(rule)
    if (holder === undefined || now - (this.writtenAt.get(rule) ?? now) < INCIDENT_TTL_MS / 2) return
    try {
      await this.store.releaseIdempotencyKey(this.key(rule), holder)
      const claim = await this.store.claimIdempotencyKey(this.key(rule), holder, INCIDENT_TTL_MS)
      this.holders.set(rule, claim.claimed ? holder : claim.holder)
      this.writtenAt.set(rule, now)
    } catch (error) {
      this.log.warn({ err: error, alert: rule }, 'could not renew the recorded incident; trying again next evaluation')
    }
  }

  /** Close `rule`'s incident. True when this evaluator closed it (notify). */
  async close(rule: string): Promise<boolean> {
    const holder = this.holders.get(rule)
    this.holders.delete(rule)
    this.writtenAt.delete(rule)
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
    const openedAt = typeof since === 'number' ? since : Date.now()
    // Written then, or renewed since: renewing early is harmless, late is not.
    this.writtenAt.set(rule, openedAt)
    return openedAt
  }
}
