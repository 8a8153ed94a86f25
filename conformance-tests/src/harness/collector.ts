import type { Broker, Delivery, Subscription } from '@conveyor/core/adapter'
import { ConformanceFailure } from './failure'
import { sleep } from './wait'

/** One delivery as a test consumer saw it. */
export interface Received {
  readonly delivery: Delivery
  /** `Date.now()` when the handler was called. */
  readonly at: number
}

export interface CollectOptions {
  readonly prefetch?: number
  /** Ack each delivery as soon as it arrives (default: hold it until the test settles it). */
  readonly ack?: boolean
}

/**
 * A test consumer: records every delivery in arrival order and lets the test await them one by one. Deliveries are
 * held unless `ack` is set, so tests decide when (and whether) to settle.
 */
export class Collector {
  readonly received: Received[] = []
  /** Errors thrown by auto-acks; tests assert it stays empty. */
  readonly errors: unknown[] = []
  private taken = 0
  private waiters: (() => void)[] = []
  subscription: Subscription | undefined

  constructor(private readonly autoAck: boolean) {}

  readonly handler = (delivery: Delivery): void => {
    this.received.push({ delivery, at: Date.now() })
    if (this.autoAck) delivery.ack().catch((error: unknown) => this.errors.push(error))
    const waiters = this.waiters
    this.waiters = []
    for (const wake of waiters) wake()
  }

  /** The next delivery not returned yet by `next`/`take`, waiting up to `timeoutMs`. */
  async next(timeoutMs: number, what = 'a delivery'): Promise<Received> {
    const deadline = Date.now() + timeoutMs
    while (this.taken >= this.received.length) {
      const left = deadline - Date.now()
      if (left <= 0) throw new ConformanceFailure(`expected ${what} within ${timeoutMs} ms, got none`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
    return this.received[this.taken++]!
  }

  /** The next `n` deliveries. */
  async take(n: number, timeoutMs: number, what = 'deliveries'): Promise<Received[]> {
    const deadline = Date.now() + timeoutMs
    const out: Received[] = []
    for (let i = 0; i < n; i++) {
      const left = Math.max(0, deadline - Date.now())
      out.push(await this.next(left, `${n} ${what} (got ${i})`).catch(rethrowWithCount(n, what, i, timeoutMs)))
    }
    return out
  }

  /** Fail if anything beyond what was already taken arrives within `ms`. */
  async none(ms: number, what: string): Promise<void> {
    await sleep(ms)
    const extra = this.received.length - this.taken
    if (extra > 0) {
      const ids = this.received.slice(this.taken).map((r) => r.delivery.envelope.id)
      throw new ConformanceFailure(`${what}: expected no delivery within ${ms} ms, got ${extra} (${ids.join(', ')})`)
    }
  }

  /** Deliveries received so far and not returned by `next` yet. */
  get pending(): number {
    return this.received.length - this.taken
  }
}

function rethrowWithCount(n: number, what: string, got: number, timeoutMs: number) {
  return (): never => {
    throw new ConformanceFailure(`expected ${n} ${what} within ${timeoutMs} ms, got ${got}`)
  }
}

/** Start a test consumer on `queue`. */
export async function collect(broker: Broker, queue: string, options: CollectOptions = {}): Promise<Collector> {
  const collector = new Collector(options.ack ?? false)
  collector.subscription = await broker.consume(queue, collector.handler, { prefetch: options.prefetch ?? 10 })
  return collector
}
