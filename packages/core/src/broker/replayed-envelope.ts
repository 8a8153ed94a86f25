import type { Envelope } from '../contracts/envelope'

/**
 * A dead letter's envelope as a replay publishes it: a first attempt (`attempt` 1), due now (no `notBefore`), on
 * `queue`, and with as long to live as it had when first enqueued (`expiresAt` moved by the time since `createdAt`).
 * Kept as it was, a replay made after the expiry (an outage fixed, then the dead letters replayed) ran nothing: the
 * worker recorded the run `expired`. Every adapter's `deadLetters.replay` builds what it publishes with this.
 */
export function replayedEnvelope(envelope: Envelope, queue: string, now = Date.now()): Envelope {
  const { notBefore: _due, expiresAt, ...rest } = envelope
  return {
    ...rest,
    queue,
    attempt: 1,
    ...(expiresAt !== undefined ? { expiresAt: now + Math.max(0, expiresAt - envelope.createdAt) } : {}),
  }
}
