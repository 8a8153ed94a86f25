/**
 * What a worker publishes about itself every few seconds, read by `conveyor inspect workers`. A heartbeat that is
 * not renewed within its TTL drops out of `listHeartbeats`: a dead worker disappears on its own.
 */
export interface WorkerHeartbeat {
  /** The worker's id (`host:pid:n`). */
  readonly id: string
  readonly host: string
  readonly pid: number
  /** The pool this worker serves under a supervisor, e.g. `default`, `high`. */
  readonly pool?: string
  readonly queues: readonly string[]
  /** `Worker.state` when the beat was written. */
  readonly state: string
  /** Handlers running when the beat was written. */
  readonly active: number
  /** Deliveries finished since the worker started. */
  readonly processed: number
  /** Resident set size of the worker's process, in bytes. */
  readonly rssBytes?: number
  /** Epoch milliseconds when the worker started. */
  readonly startedAt: number
  /** Epoch milliseconds when this beat was written. */
  readonly at: number
}

/**
 * A time-limited lock with a fencing token. The token grows every time the lock changes hands, so a store or
 * downstream system can refuse writes from a holder that lost the lock without knowing it (a paused process).
 */
export interface Lease {
  readonly name: string
  /** Who holds it: a scheduler or worker id. */
  readonly owner: string
  /** Strictly increasing per lease name across holders. */
  readonly token: number
  /** Epoch milliseconds (store clock) when the lease lapses unless renewed. */
  readonly expiresAt: number
}

/** The outcome of `CoordinationStore.claimIdempotencyKey`. */
export type IdempotencyClaim =
  /** This caller holds the key now (with the holder it gave): go ahead and publish. */
  | { readonly claimed: true }
  /** Someone holds the key: `holder` is what they stored when they claimed it. Nothing was changed. */
  | { readonly claimed: false; readonly holder: string }

/**
 * Shared state that operations features coordinate through: worker heartbeats, revoked task ids, rate-limit windows,
 * leases, scheduler tick claims and enqueue idempotency keys.
 *
 * `scope` says how far the coordination reaches. The memory store (`process`) coordinates the workers, schedulers and
 * producers of one process only; a networked store such as the Redis one (`shared`) coordinates every process that
 * uses the same server and prefix — rate limits then hold across all workers, each schedule tick fires once in the
 * fleet, and an idempotency key publishes once whichever producer enqueues it.
 *
 * Implementations must make each method atomic on the store (a Lua script on Redis) and use the store's clock for
 * TTLs and windows, so that processes with skewed clocks still agree.
 */
export interface CoordinationStore {
  /** Short name for logs, e.g. `memory`, `redis`. */
  readonly name: string
  readonly scope: 'process' | 'shared'
  /** Open connections. Idempotent; the other methods connect lazily. */
  connect(): Promise<void>
  /** Close what the store opened (never a client it was given). */
  close(): Promise<void>

  /** Write or refresh a worker's heartbeat; it is listed until `ttlMs` passes without another write. */
  putHeartbeat(beat: WorkerHeartbeat, ttlMs: number): Promise<void>
  /** Remove a heartbeat at once (a worker that stopped cleanly). */
  removeHeartbeat(id: string): Promise<void>
  /** The live heartbeats, oldest worker first. Expired ones are dropped (and cleaned up) here. */
  listHeartbeats(): Promise<WorkerHeartbeat[]>

  /** Mark a task id revoked for `ttlMs` (at least as long as the task may still wait in a queue). */
  revoke(id: string, ttlMs: number): Promise<void>
  /** Whether the id is revoked now. */
  isRevoked(id: string): Promise<boolean>

  /**
   * Take one token from the sliding window `key`, which allows `limit` tokens per `windowMs`. Resolves with 0 when a
   * token was taken, otherwise with how many milliseconds to wait before the next one can be (nothing is taken then).
   */
  acquireRate(key: string, limit: number, windowMs: number): Promise<number>

  /** Take the lease `name` for `owner` when it is free or lapsed. Resolves undefined when someone else holds it. */
  acquireLease(name: string, owner: string, ttlMs: number): Promise<Lease | undefined>
  /** Extend a held lease. Resolves undefined when it was lost (lapsed and taken, or released): stop acting on it. */
  renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined>
  /** Give a lease up, if still held by this holder (same owner and token). */
  releaseLease(lease: Lease): Promise<void>

  /**
   * Claim tick `tickAt` (epoch ms) of schedule `schedule`: resolves true for exactly one caller per (schedule, tick)
   * while the claim is remembered (`ttlMs`), false for everyone else. Also records `tickAt` as the schedule's last
   * claimed tick when it is later than the one recorded (see `lastTick`).
   */
  claimTick(schedule: string, tickAt: number, ttlMs: number): Promise<boolean>
  /** The latest tick claimed for `schedule`, or undefined when none was: what misfire handling starts from. */
  lastTick(schedule: string): Promise<number | undefined>

  /**
   * Claim-or-get, atomically: when nobody holds `key`, store `holder` under it for `ttlMs` (store clock) and resolve
   * `{ claimed: true }`; otherwise change nothing and resolve `{ claimed: false, holder }` with the current holder's
   * value. Exactly one of any number of concurrent callers claims a free key. The TTL counts from the claim and is not
   * extended by later calls. `holder` is opaque to the store (the app writes the job's id and queue).
   */
  claimIdempotencyKey(key: string, holder: string, ttlMs: number): Promise<IdempotencyClaim>
  /**
   * Delete `key` only while it still holds `holder` (a claim whose publish failed), so that a retry can claim it;
   * a key that lapsed and was claimed by someone else is left alone. Resolves true when it was deleted.
   */
  releaseIdempotencyKey(key: string, holder: string): Promise<boolean>
}
