import { type BrokerShared, CHUNK, type QueueRuntime } from './runtime'

/**
 * Keeps the leases of every delivery this broker instance holds alive: every `leaseMs / 3`, one script call per
 * queue that holds any (all queues at once: on a cluster they are on different nodes).
 */
export class LeaseKeeper {
  private timer: NodeJS.Timeout | undefined
  private extending = false

  constructor(
    private readonly shared: BrokerShared,
    private readonly runtimes: ReadonlyMap<string, QueueRuntime>,
  ) {}

  /** Start extending (idempotent): called when a consumer starts. */
  start(): void {
    if (this.timer !== undefined) return
    this.timer = setInterval(() => void this.extendAll(), Math.max(10, Math.floor(this.shared.leaseMs / 3)))
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
  }

  private async extendAll(): Promise<void> {
    if (this.extending) return
    const busy = [...this.runtimes.values()].filter((rt) => rt.held.size > 0 || rt.settling.size > 0)
    if (busy.length === 0) return
    this.extending = true
    try {
      await Promise.all(busy.map((rt) => this.extendQueue(rt)))
      this.shared.outage.recovered()
    } catch (error) {
      this.shared.outage.failed(error)
    } finally {
      this.extending = false
    }
  }

  /**
   * Extend one queue's leases, held deliveries and those whose confirmed ack is on its way; tokens Redis no longer
   * holds (taken back after a stall, or acked by now) stop counting.
   */
  private async extendQueue(rt: QueueRuntime): Promise<void> {
    const { leaseMs } = this.shared
    const tokens = rt.settling.size > 0 ? [...rt.held.keys(), ...rt.settling] : [...rt.held.keys()]
    for (let i = 0; i < tokens.length; i += CHUNK) {
      const chunk = tokens.slice(i, i + CHUNK)
      const sentAt = performance.now()
      const lost = (await this.shared.run('extend', [rt.keys.leases], [leaseMs, ...chunk])) as string[]
      for (const token of lost) {
        const held = rt.held.get(token)
        if (held === undefined) continue
        held.lost = 'lease lost'
        if (rt.held.delete(token)) held.holder.slotFreed()
      }
      for (const token of chunk) {
        const held = rt.held.get(token)
        if (held !== undefined && held.lost === undefined) held.leaseUntil = sentAt + leaseMs
      }
    }
  }
}
