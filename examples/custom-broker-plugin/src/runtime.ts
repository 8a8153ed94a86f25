import { NotConnectedError } from '@conveyor/core'
import type { Pool } from 'pg'
import type { Tables } from './schema'
import type { Statements } from './sql'

export type BrokerState = 'open' | 'closing' | 'closed' | 'destroyed'

/** A delivery this instance holds: its lease is extended until it is settled, released on close. */
export interface Held {
  readonly seq: string
  readonly token: string
  /** An ack/retry/dead-letter is on its way: keep extending (it may wait for a pooled connection), never release. */
  settling: boolean
}

/** What the broker's parts share: the pool, the statements, the state, the leases held. */
export interface Runtime {
  readonly pool: Pool
  readonly tables: Tables
  readonly sql: Statements
  readonly leaseMs: number
  state: BrokerState
  /** Unsettled deliveries by lease token; a delivery leaves once its settlement is recorded. */
  readonly held: Map<string, Held>
  /** Settlements running now: close waits for them rather than releasing what is being acked. */
  readonly settling: Set<Promise<unknown>>
  /**
   * Rejecters of settlements still waiting for their query. `destroy` calls them: a pool that is ending never serves
   * a query queued for a connection, so a settlement started in the tick of a crash would otherwise hang for ever.
   */
  readonly abandon: Set<(error: Error) => void>
  /** Run a lease extension on the dedicated connection, so a busy pool cannot starve it. */
  extend(tokens: string[]): Promise<void>
  /** Tables exist (created once per instance, lazily). */
  ready(): Promise<void>
}

/** Publishing, consuming and managing need an open broker; settling works while closing too. */
export function ensureOpen(rt: Runtime): void {
  if (rt.state !== 'open') throw new NotConnectedError(`[postgres] broker is ${rt.state}; create a new one`)
}
