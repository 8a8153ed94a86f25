import type { DeliveryHandler, Envelope, Subscription } from '@conveyor/core/adapter'
import { sleep } from '@conveyor/core/adapter'
import type { Redis } from 'ioredis'
import { deadLetterEntry } from '../dead-letter-entry'
import { CeleryDecodeError } from '../errors/celery-decode-error'
import { celeryToEnvelope } from '../protocol/message'
import { type HeldMessage, RedisCeleryDelivery, settleHeld } from './delivery'
import { fetchKeys, type QueueKeys } from './keys'
import { decodeKombu, fromKombuPriority } from './kombu-layout'
import { runScript } from './scripts'

/** What a consumer needs from its broker. */
export interface ConsumerSettings {
  readonly client: Redis
  readonly keys: QueueKeys
  readonly queue: string
  readonly prefetch: number
  readonly leaseMs: number
  readonly pollMs: number
  readonly maxBatch: number
  readonly maxAttempts: (task: string) => number
  readonly onError: (error: unknown, what: string) => void
  /** Once cancelled with every delivery it handed out settled: the broker forgets the consumer. */
  readonly onFinished: () => void
}

/**
 * Consumes one Celery queue: polls `fetch.lua` (Kombu producers only LPUSH, so there is nothing to block on without
 * popping), backing off to `pollMs` while idle; extends the leases of held messages every `leaseMs / 3`.
 */
export class RedisCeleryConsumer implements Subscription {
  readonly held = new Map<string, RedisCeleryDelivery>()
  private cancelled = false
  private loopEnded = false
  private finished = false
  private stopped = false
  private wake: (() => void) | undefined
  private readonly extender: NodeJS.Timeout
  private readonly loop: Promise<void>

  constructor(
    private readonly settings: ConsumerSettings,
    private readonly handler: DeliveryHandler,
  ) {
    this.extender = setInterval(() => this.extend(), Math.max(50, Math.floor(settings.leaseMs / 3)))
    this.extender.unref()
    this.loop = this.run()
  }

  get queue(): string {
    return this.settings.queue
  }

  async cancel(): Promise<void> {
    this.cancelled = true
    this.wake?.()
    await this.loop
    this.finishWhenIdle()
  }

  /**
   * Cancelled, its loop ended and nothing held: no lease left to extend, and nothing for the broker to count or give
   * back. Not before the loop ended: a fetch still on its way when `cancel` was called hands out what it leased.
   */
  private finishWhenIdle(): void {
    if (!this.cancelled || !this.loopEnded || this.finished || this.held.size > 0) return
    this.finished = true
    clearInterval(this.extender)
    this.settings.onFinished()
  }

  /** Stop everything at once (crash emulation): no more fetches, no more lease extensions. */
  stop(): void {
    this.cancelled = true
    this.stopped = true
    clearInterval(this.extender)
    this.wake?.()
  }

  private async run(): Promise<void> {
    try {
      await this.fetchUntilCancelled()
    } finally {
      this.loopEnded = true
    }
  }

  private async fetchUntilCancelled(): Promise<void> {
    const { settings } = this
    let idleMs = 1
    while (!this.cancelled) {
      const free = settings.prefetch - this.held.size
      if (free <= 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve
        })
        continue
      }
      let messages: HeldMessage[]
      try {
        messages = await this.fetch(Math.min(free, settings.maxBatch))
      } catch (error) {
        if (this.cancelled) break
        settings.onError(error, 'fetch failed; retrying')
        await sleep(Math.min(1000, settings.pollMs * 5))
        continue
      }
      if (this.stopped) break
      if (messages.length === 0) {
        await sleep(idleMs)
        idleMs = Math.min(settings.pollMs, idleMs * 2)
        continue
      }
      idleMs = 1
      for (const message of messages) this.accept(message)
    }
  }

  private async fetch(max: number): Promise<HeldMessage[]> {
    const { settings } = this
    const reply = (await runScript(settings.client, 'celeryFetch', fetchKeys(settings.keys), [
      Date.now(),
      settings.leaseMs,
      max,
    ])) as (string | number)[]
    const out: HeldMessage[] = []
    for (let i = 0; i + 3 < reply.length; i += 4) {
      out.push({
        token: String(reply[i]),
        listIndex: Number(reply[i + 1]),
        deliveryCount: Number(reply[i + 2]),
        raw: String(reply[i + 3]),
      })
    }
    return out
  }

  /** Decode a fetched message and hand it over, or dead-letter / defer it without the handler. */
  private accept(message: HeldMessage): void {
    const { settings } = this
    let envelope: Envelope
    try {
      const decoded = decodeKombu(message.raw)
      envelope = celeryToEnvelope(decoded, {
        queue: settings.queue,
        priority: fromKombuPriority(decoded.properties.priority),
        maxAttempts: settings.maxAttempts,
        now: Date.now(),
      })
    } catch (error) {
      const reason = error instanceof CeleryDecodeError ? error.reason : 'malformed'
      const entry = deadLetterEntry({
        queue: settings.queue,
        raw: message.raw,
        reason,
        error: {
          name: (error as Error).name,
          message: (error as Error).message,
          code: (error as { code?: string }).code ?? 'CONVEYOR_CELERY_MALFORMED',
        },
        deliveryCount: message.deliveryCount,
      })
      this.settleQuietly(message, { op: 'dead', target: settings.keys.dead, payload: entry }, 'dead-letter')
      return
    }
    if (envelope.notBefore !== undefined && envelope.notBefore > Date.now()) {
      // An ETA not reached yet: Celery workers hold such messages in memory; we hand them back to Redis until due.
      const payload = `${message.listIndex}|${message.raw}`
      const how = {
        op: 'delay',
        target: settings.keys.delayed,
        payload,
        score: envelope.notBefore,
        keepCount: true,
      } as const
      this.settleQuietly(message, how, 'defer')
      return
    }
    const delivery = new RedisCeleryDelivery(settings.client, settings.keys, message, envelope, (token) => {
      this.held.delete(token)
      this.wake?.()
      this.wake = undefined
      this.finishWhenIdle()
    })
    this.held.set(message.token, delivery)
    this.handler(delivery)
  }

  private settleQuietly(message: HeldMessage, how: Parameters<typeof settleHeld>[3], what: string): void {
    settleHeld(this.settings.client, this.settings.keys, message.token, how).catch((error: unknown) =>
      this.settings.onError(error, `could not ${what} a message; its lease will expire and it comes back`),
    )
  }

  private extend(): void {
    if (this.stopped || this.held.size === 0) return
    const deadline = Date.now() + this.settings.leaseMs
    const args: (string | number)[] = []
    for (const token of this.held.keys()) args.push(deadline, token)
    this.settings.client
      .zadd(this.settings.keys.leases, 'XX', ...args)
      .catch((error: unknown) => this.settings.onError(error, 'could not extend leases'))
  }
}
