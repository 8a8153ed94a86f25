import { MAX_PRIORITY } from '@conveyor/core/adapter'

/**
 * The keys of one queue. All share the hash tag `{prefix:queue}`, so every script touches one cluster slot.
 *
 * | key          | type | holds                                                          |
 * | ------------ | ---- | -------------------------------------------------------------- |
 * | `…:r0`–`r9`  | list | ready messages per priority (stored form), FIFO                 |
 * | `…:d`        | zset | delayed messages scored by due time                            |
 * | `…:f`        | hash | in-flight token → priority, delivery count, body               |
 * | `…:l`        | zset | in-flight token → lease deadline                               |
 * | `…:x`, `…:xh`| zset, hash | dead-letter entry keys by age; entry key → record JSON   |
 * | `…:xr`       | zset | entry keys `id~<seq>` of dead letters whose id was taken, score 0 |
 * | `…:w`        | list | wake-up marker for blocked consumers                           |
 * | `…:s`        | string | sequence for tokens, delayed members and dead-letter order  |
 */
export interface QueueKeys {
  /** Ready lists, index = priority. */
  readonly ready: readonly string[]
  readonly delayed: string
  readonly inflight: string
  readonly leases: string
  readonly dead: string
  readonly deadRecords: string
  /**
   * A second dead letter of an id is stored as `id~<seq>`. These keys are indexed here with one score, so replay and
   * purge by id find them with ZRANGEBYLEX (`[id~` to `(id\x7f`) instead of reading the whole store.
   */
  readonly deadReused: string
  readonly wake: string
  readonly seq: string
}

export function queueKeys(prefix: string, queue: string): QueueKeys {
  const tag = `{${prefix}:${queue}}`
  return {
    ready: Array.from({ length: MAX_PRIORITY + 1 }, (_, p) => `${tag}:r${p}`),
    delayed: `${tag}:d`,
    inflight: `${tag}:f`,
    leases: `${tag}:l`,
    dead: `${tag}:x`,
    deadRecords: `${tag}:xh`,
    deadReused: `${tag}:xr`,
    wake: `${tag}:w`,
    seq: `${tag}:s`,
  }
}

/** Pattern matching every key of every queue under `prefix`, for SCAN (cleanup, admin), never KEYS. */
export function prefixPattern(prefix: string): string {
  return `{${prefix.replace(/[*?[\]\\]/g, '\\$&')}:*`
}

/** Key of the set naming the declared queues (admin listing). */
export function queuesKey(prefix: string): string {
  return `${prefix}:queues`
}

/** Key and wake-up channel of a task record. */
export function resultKey(prefix: string, id: string): string {
  return `${prefix}:result:${id}`
}
export function resultChannel(prefix: string, id: string): string {
  return `${prefix}:done:${id}`
}

/**
 * The coordination store's keys. All share the hash tag `{prefix:coord}` (one cluster slot).
 *
 * | key                       | type   | holds                                        |
 * | ------------------------- | ------ | -------------------------------------------- |
 * | `…:hb`, `…:hbd`           | zset, hash | worker id → expiry; worker id → heartbeat JSON |
 * | `…:rv:<id>`               | string | a revoked task id, with a TTL                |
 * | `…:rl:<key>`              | zset   | tokens taken in the sliding window           |
 * | `…:seq`                   | string | unique members for the windows               |
 * | `…:ls:<name>`, `…:lf:<name>` | hash, string | lease owner and token; fencing counter |
 * | `…:tk:<schedule>:<tick>`  | string | a claimed tick, with a TTL                   |
 * | `…:last`                  | hash   | schedule → last claimed tick                 |
 * | `…:ik:<key>`              | string | an idempotency key → its job, with a TTL     |
 */
export function coordinationKeys(prefix: string) {
  const tag = `{${prefix}:coord}`
  return {
    beats: `${tag}:hb`,
    beatData: `${tag}:hbd`,
    revoked: (id: string) => `${tag}:rv:${id}`,
    rate: (key: string) => `${tag}:rl:${key}`,
    seq: `${tag}:seq`,
    lease: (name: string) => `${tag}:ls:${name}`,
    fence: (name: string) => `${tag}:lf:${name}`,
    tick: (schedule: string, tickAt: number) => `${tag}:tk:${schedule}:${tickAt}`,
    last: `${tag}:last`,
    idempotency: (key: string) => `${tag}:ik:${key}`,
  }
}

export type CoordinationKeys = ReturnType<typeof coordinationKeys>
