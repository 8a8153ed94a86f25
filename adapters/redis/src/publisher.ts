import type { QueueKeys } from './keys'
import type { BrokerShared } from './shared'

/** Most messages one publish script call carries (Lua's unpack and one reply stay small). */
export const PUBLISH_CHUNK = 500

interface Waiter {
  readonly resolve: () => void
  readonly reject: (error: unknown) => void
}

/**
 * Publishes of one queue made in the same tick go to Redis together: one script call per `PUBLISH_CHUNK` messages
 * instead of one per message. The client's cost per command dominates a publish, so 64 concurrent publishes cost
 * about what one did. Each caller's promise still resolves only once Redis acknowledged the script that wrote its
 * messages, and messages keep the order in which they were handed over.
 */
export class QueuePublisher {
  /** Flat triplets (priority, delay ms, element), the publish script's arguments. */
  private args: (string | number)[] = []
  private waiters: Waiter[] = []
  private scheduled = false
  private readonly keys: readonly string[]

  constructor(
    queueKeys: QueueKeys,
    private readonly shared: BrokerShared,
  ) {
    this.keys = [...queueKeys.ready, queueKeys.delayed, queueKeys.wake, queueKeys.seq]
  }

  /** Queue one message; resolves once Redis holds it. */
  add(element: string, priority: number, delayMs: number): Promise<void> {
    this.args.push(priority, delayMs, element)
    return this.wait()
  }

  /** Queue several messages (flat triplets as above); resolves once Redis holds all of them. */
  addMany(triplets: readonly (string | number)[]): Promise<void> {
    for (const value of triplets) this.args.push(value)
    return this.wait()
  }

  private wait(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject })
      if (!this.scheduled) {
        this.scheduled = true
        // nextTick runs once the current chain of microtasks is drained: every publish that chain started joins in.
        process.nextTick(() => this.flush())
      }
    })
  }

  private flush(): void {
    this.scheduled = false
    const args = this.args
    const waiters = this.waiters
    this.args = []
    this.waiters = []
    const keys = this.keys
    const calls: Promise<unknown>[] = []
    // Already one call per queue per tick: written at once, in order on the connection, so order holds across chunks.
    for (let i = 0; i < args.length; i += 3 * PUBLISH_CHUNK) {
      calls.push(this.shared.run('publish-batch', keys, args.slice(i, i + 3 * PUBLISH_CHUNK), 'direct'))
    }
    const done = calls.length === 1 ? calls[0]! : Promise.all(calls)
    done.then(
      () => {
        for (const waiter of waiters) waiter.resolve()
      },
      (error: unknown) => {
        for (const waiter of waiters) waiter.reject(error)
      },
    )
  }
}
