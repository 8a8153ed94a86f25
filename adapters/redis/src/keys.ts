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
