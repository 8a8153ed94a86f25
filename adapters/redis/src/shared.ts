import type { OutageReporter } from './logger'
import type { RedisClient } from './options'
import type { ScriptName, SendMode } from './scripts'

/** What the parts of one broker instance share. */
export interface BrokerShared {
  readonly client: RedisClient
  readonly prefix: string
  readonly leaseMs: number
  readonly outage: OutageReporter
  /** Writes are confirmed by replicas (`durability`): acks go through the confirmed ack script, never with a fetch. */
  readonly durable: boolean
  /** `open` until `close`/`destroy` finish; `closing` while a graceful close drains. */
  state(): 'open' | 'closing' | 'closed' | 'destroyed'
  run(name: ScriptName, keys: readonly string[], args: readonly (string | number)[], mode?: SendMode): Promise<unknown>
  /** A command got no answer for far too long: report it and, when the connection is ours, replace it. */
  stalled(): void
}

/** Someone holding deliveries, told when one of them stops counting against its prefetch. */
export interface Holder {
  slotFreed(): void
}
