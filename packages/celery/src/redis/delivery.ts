import { DeliverySettledError } from '@conveyor/core'
import type { DeadLetterReason, Delivery, Envelope, ErrorInfo } from '@conveyor/core/adapter'
import type { Redis } from 'ioredis'
import { deadLetterEntry } from '../dead-letter-entry'
import { envelopeToCelery } from '../protocol/message'
import type { QueueKeys } from './keys'
import { encodeKombu, kombuListIndex, toKombuPriority } from './kombu-layout'
import { runScript } from './scripts'

/** One held message: where it is, how to settle it. */
export interface HeldMessage {
  readonly token: string
  /** Index of its Kombu list in `QueueKeys.lists`. */
  readonly listIndex: number
  readonly deliveryCount: number
  readonly raw: string
}

/** What a settlement does, as `settle.lua` takes it. */
export interface Settlement {
  readonly op: 'ack' | 'delay' | 'dead' | 'release'
  readonly target?: string
  readonly payload?: string
  readonly score?: number
  /** Keep the delivery count (a deferred ETA is the same delivery). */
  readonly keepCount?: boolean
}

/** Run `settle.lua`; resolves false when the lease was already gone (given back after expiry). */
export async function settleHeld(client: Redis, keys: QueueKeys, token: string, how: Settlement): Promise<boolean> {
  const done = await runScript(
    client,
    'celerySettle',
    [keys.leases, keys.held, keys.counts, how.target ?? keys.leases],
    [token, how.op, how.payload ?? '', how.score ?? 0, how.keepCount ? '1' : '0'],
  )
  return done === 1
}

/** A Celery message handed to a Conveyor worker, settled through `settle.lua`. */
export class RedisCeleryDelivery implements Delivery {
  private settled = false

  constructor(
    private readonly client: Redis,
    private readonly keys: QueueKeys,
    readonly held: HeldMessage,
    readonly envelope: Envelope,
    private readonly onSettled: (token: string) => void,
  ) {}

  get deliveryCount(): number {
    return this.held.deliveryCount
  }

  ack(): Promise<void> {
    return this.settle({ op: 'ack' })
  }

  /** Celery's retry: the same task id published again with `retries + 1` and an `eta`, held until due. */
  retry(delayMs: number): Promise<void> {
    const due = Date.now() + delayMs
    const next: Envelope = { ...this.envelope, attempt: this.envelope.attempt + 1, notBefore: due }
    const kombuPriority = toKombuPriority(next.priority)
    const raw = encodeKombu(envelopeToCelery(next, kombuPriority), next.queue)
    const payload = `${kombuListIndex(kombuPriority)}|${raw}`
    return this.settle({ op: 'delay', target: this.keys.delayed, payload, score: due })
  }

  deadLetter(reason: DeadLetterReason, error?: ErrorInfo): Promise<void> {
    const entry = deadLetterEntry({
      queue: this.envelope.queue,
      raw: this.held.raw,
      envelope: this.envelope,
      reason,
      ...(error !== undefined ? { error } : {}),
      deliveryCount: this.held.deliveryCount,
    })
    return this.settle({ op: 'dead', target: this.keys.dead, payload: entry })
  }

  release(): Promise<void> {
    return this.settle({ op: 'release', target: this.keys.lists[this.held.listIndex] ?? this.keys.lists[0]! })
  }

  private async settle(how: Settlement): Promise<void> {
    if (this.settled) throw new DeliverySettledError(`[celery] delivery of task ${this.envelope.id} already settled`)
    this.settled = true
    try {
      const ok = await settleHeld(this.client, this.keys, this.held.token, how)
      if (!ok) {
        throw new DeliverySettledError(
          `[celery] the lease of task ${this.envelope.id} expired before it was settled; it was given back to the queue`,
        )
      }
    } finally {
      this.onSettled(this.held.token)
    }
  }
}
