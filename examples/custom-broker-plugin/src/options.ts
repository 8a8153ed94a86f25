import type { Pool } from 'pg'

/** Options of `createPostgresBroker`. Give either an existing `pool` or a `connectionString`. */
export interface PostgresBrokerOptions {
  /** An existing pg pool (left open on close: it is yours). */
  readonly pool?: Pool
  /** `postgres://user@host:5432/db`; the broker builds and owns a pool. */
  readonly connectionString?: string
  /** Size of the pool the broker builds (one connection more is held for LISTEN). Defaults to 5. */
  readonly poolSize?: number
  /**
   * Tables are named `conveyor_<namespace>_…`, so several apps (or tests) share a database. Lowercase letters,
   * digits and `_`, at most 40 characters. Defaults to `default`.
   */
  readonly namespace?: string
  /** How long a delivery is held without being extended; a crashed consumer's messages return after it. 30 s. */
  readonly leaseMs?: number
  /**
   * How often consumers look for work without a wake-up: due delays and expired leases are noticed this late at
   * most (new messages arrive at once through LISTEN/NOTIFY). Defaults to 250 ms.
   */
  readonly pollMs?: number
  /** Largest encoded message accepted, in bytes. Defaults to 8 MiB. */
  readonly maxMessageBytes?: number
}
