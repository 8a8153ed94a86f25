import type { Cluster, ClusterNode, ClusterOptions, Redis, RedisOptions } from 'ioredis'

/** An ioredis connection the adapter can use: a single node or a cluster. */
export type RedisClient = Redis | Cluster

/** The subset of a pino logger the adapter writes to; pass `false` to silence it. */
export interface RedisLogger {
  error(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  info(obj: object, msg?: string): void
}

/** How to reach Redis: exactly one of `url`, `redis`, `cluster` or `client` (none = `redis://127.0.0.1:6379`). */
export interface RedisConnectionOptions {
  /**
   * `redis://[user:password@]host[:port][/db]` or `rediss://…` for TLS. The query parameters `prefix` and `leaseMs`
   * are read by the adapter; the others are passed to ioredis.
   */
  readonly url?: string
  /** ioredis options (host, port, username, password, db, tls, …) for a connection the adapter creates and owns. */
  readonly redis?: RedisOptions
  /** Start nodes and options for an ioredis `Cluster` the adapter creates and owns. */
  readonly cluster?: { readonly nodes: readonly ClusterNode[]; readonly options?: ClusterOptions }
  /**
   * An existing ioredis `Redis` or `Cluster`. The adapter never closes it; it opens its own duplicates for blocking
   * reads and pub/sub and closes those.
   */
  readonly client?: RedisClient
  /** Prefix of every key, default `conveyor`. Keys of one queue share the hash tag `{prefix:queue}`. */
  readonly prefix?: string
  /** Where connection trouble is reported, once per outage. Defaults to the console; `false` silences it. */
  readonly logger?: RedisLogger | false
}

/**
 * Wait for replicas before a write counts as done (Redis `WAIT` after the write, on the same connection). Redis
 * replicates asynchronously: without this, a master that dies right after acknowledging a publish can take it along
 * when its replica is promoted.
 */
export interface RedisDurability {
  /** Replicas that must hold a publish, ack, retry or dead letter before its promise resolves. At least 1. */
  readonly replicas: number
  /**
   * Longest to wait for them, in ms (default 1000). When fewer confirm in time the call rejects with
   * `ReplicationTimeoutError`; the write itself is on the master.
   */
  readonly timeoutMs?: number
}

export interface RedisBrokerOptions extends RedisConnectionOptions {
  /**
   * Confirm publishes and settlements only once `replicas` replicas have them (`WAIT`). Off by default: measured in
   * docs/clusters.md, a master killed under load loses the few writes its replica had not copied yet.
   */
  readonly durability?: RedisDurability
  /**
   * How long a delivery stays held without its lease being extended; a dead worker's deliveries come back after
   * about this long. Extended every `leaseMs / 3` while held. Default 8 000.
   */
  readonly leaseMs?: number
  /** Largest stored message accepted, in bytes: an integer ≥ 1. Default 16 MiB. */
  readonly maxMessageBytes?: number
  /**
   * Longest a consumer blocks on an idle queue before looking again (delays, expired leases), in ms: from 1 to
   * 3 600 000. Default 5 000.
   */
  readonly maxBlockMs?: number
  /** Most messages one fetch moves into flight: an integer from 1 to 1000. Default 256. */
  readonly maxBatch?: number
}

export interface RedisResultBackendOptions extends RedisConnectionOptions {}
