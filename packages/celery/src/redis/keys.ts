import { kombuListKeys } from './kombu-layout'

/** Where a Celery queue's messages live: Kombu's lists (shared with Celery) and Conveyor's own structures beside them. */
export interface QueueKeys {
  /** Kombu's lists, in reading order (see `kombuListKeys`). */
  readonly lists: readonly string[]
  /** Held messages' leases: token -> deadline. */
  readonly leases: string
  /** Held messages: token -> raw, token:l -> list index. */
  readonly held: string
  /** Deliveries that ended without a settlement, by sha1 of the raw message. */
  readonly counts: string
  /** Retries and not-yet-due ETAs: '<list index>|<raw>' -> due time. */
  readonly delayed: string
  /** Lease token counter. */
  readonly seq: string
  /** Dead letters, oldest first (JSON entries). */
  readonly dead: string
}

/** Key names of a queue. `namespace` prefixes Conveyor's own keys; Kombu's lists take Kombu's `global_keyprefix`. */
export function queueKeys(queue: string, namespace: string, globalKeyPrefix: string): QueueKeys {
  const own = `${namespace}:{${queue}}`
  return {
    lists: kombuListKeys(queue, globalKeyPrefix),
    leases: `${own}:leases`,
    held: `${own}:held`,
    counts: `${own}:counts`,
    delayed: `${own}:delayed`,
    seq: `${own}:seq`,
    dead: `${own}:dead`,
  }
}

/** The keys of `fetch.lua`, in its order. */
export const fetchKeys = (keys: QueueKeys): string[] => [
  keys.leases,
  keys.held,
  keys.counts,
  keys.delayed,
  keys.seq,
  ...keys.lists,
]
