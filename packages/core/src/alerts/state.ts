import type { AlertState } from './rules'

/** What one evaluation did to an alert. */
export type Transition = 'none' | 'fired' | 'resolved'

/**
 * One alert's life, pure (time is an argument): `inactive` → `pending` while the condition holds for less than
 * `forMs` → `firing` → `resolving` while it is clear for less than `resolveForMs` → `inactive`. A condition that
 * clears while pending goes back to `inactive` without a word; one that returns while resolving goes back to
 * `firing` without a second notification. So a flapping condition is one incident or none.
 */
export class AlertTracker {
  state: AlertState = 'inactive'
  /** When the condition started holding (pending/firing) — the incident's start. */
  since = 0
  /** When the condition last started being clear (resolving). */
  private clearSince = 0
  /** Last value measured. */
  value: number | undefined

  constructor(
    private readonly forMs: number,
    private readonly resolveForMs: number,
  ) {}

  /** Feed one reading: does it hold the condition (`fires`), clear it (`clears`), or neither (between thresholds)? */
  observe(reading: { holds: boolean; clear: boolean; value: number }, now: number): Transition {
    this.value = reading.value
    switch (this.state) {
      case 'inactive':
        if (!reading.holds) return 'none'
        this.since = now
        this.state = 'pending'
        return this.promote(now)
      case 'pending':
        if (!reading.holds) {
          this.state = 'inactive'
          return 'none'
        }
        return this.promote(now)
      case 'firing':
        if (!reading.clear) return 'none'
        this.clearSince = now
        this.state = 'resolving'
        return this.settle(now)
      case 'resolving':
        if (!reading.clear) {
          this.state = 'firing'
          return 'none'
        }
        return this.settle(now)
    }
  }

  /** Take over an incident another evaluator opened (it fired and notified): firing since `since`, no new word. */
  adopt(since: number): void {
    this.state = 'firing'
    this.since = since
  }

  private promote(now: number): Transition {
    if (now - this.since < this.forMs) return 'none'
    this.state = 'firing'
    return 'fired'
  }

  private settle(now: number): Transition {
    if (now - this.clearSince < this.resolveForMs) return 'none'
    this.state = 'inactive'
    return 'resolved'
  }
}
