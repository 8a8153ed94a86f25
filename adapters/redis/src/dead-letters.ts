import type { DeadLetter, DeadLetterStore, Envelope } from '@conveyor/core/adapter'
import { replayedEnvelope, safeJsonParse } from '@conveyor/core/adapter'
import { encodeStored } from './codec'
import type { QueueKeys } from './keys'
import type { BrokerShared } from './runtime'
import { rethrowTyped } from './scripts'

/** Entries read per page while replaying everything; each page is one ZRANGE, one HMGET and one script call. */
const PAGE = 200

interface Entry {
  readonly key: string
  readonly record: DeadLetter
}

/**
 * Dead letters per queue: a zset of entry keys ordered by when they died and a hash of entry key → record JSON.
 * Listing and replay read pages of one queue's zset; nothing scans the keyspace. A call on a closed or destroyed
 * broker is refused (`ensureOpen`), and a connection lost during one rejects as NotConnectedError.
 */
export function createDeadLetterStore(
  shared: BrokerShared,
  keysOf: (queue: string) => QueueKeys,
  ensureOpen: () => void,
): DeadLetterStore {
  const guarded =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      ensureOpen()
      try {
        return await call(...args)
      } catch (error) {
        return rethrowTyped(error)
      }
    }
  const store: DeadLetterStore = {
    async list(queue, page = {}) {
      const keys = keysOf(queue)
      const offset = Math.max(0, page.offset ?? 0)
      const limit = page.limit ?? 100
      if (limit <= 0) return []
      const entryKeys = await shared.client.zrange(keys.dead, offset, offset + limit - 1)
      return (await read(shared, keys, entryKeys)).map((entry) => entry.record)
    },

    async replay(queue, selection = {}) {
      const keys = keysOf(queue)
      const budget = selection.limit ?? Number.POSITIVE_INFINITY
      if (budget <= 0) return 0
      if (selection.ids !== undefined) return replayIds(shared, keys, selection.ids, budget)
      return replayAll(shared, keys, budget)
    },

    async purge(queue, ids) {
      if (ids !== undefined && ids.length === 0) return 0
      const keys = keysOf(queue)
      const scriptKeys = [keys.dead, keys.deadRecords, keys.deadReused]
      return Number(await shared.run('dead-purge', scriptKeys, ids ? [...ids] : []))
    },

    async count(queue) {
      return shared.client.zcard(keysOf(queue).dead)
    },
  }
  return {
    list: guarded(store.list),
    replay: guarded(store.replay),
    purge: guarded(store.purge),
    count: guarded(store.count),
  }
}

async function read(shared: BrokerShared, keys: QueueKeys, entryKeys: readonly string[]): Promise<Entry[]> {
  if (entryKeys.length === 0) return []
  const records = await shared.client.hmget(keys.deadRecords, ...entryKeys)
  const out: Entry[] = []
  records.forEach((json, i) => {
    if (json !== null) out.push({ key: entryKeys[i]!, record: safeJsonParse(json) as DeadLetter })
  })
  return out
}

/**
 * The entry keys that may hold dead letters of `ids`: each id's own key, and the `id~<seq>` keys of an id that was
 * dead-lettered again (from the reused-id zset, by range). Which id an entry belongs to is its record's `id`.
 */
async function candidateKeys(shared: BrokerShared, keys: QueueKeys, ids: readonly string[]): Promise<string[]> {
  const reused = await Promise.all(ids.map((id) => shared.client.zrangebylex(keys.deadReused, `[${id}~`, `(${id}\x7f`)))
  return [...new Set([...ids, ...reused.flat()])]
}

/** Every entry of `ids` that is there, oldest first, at most `budget`. */
async function replayIds(
  shared: BrokerShared,
  keys: QueueKeys,
  ids: readonly string[],
  budget: number,
): Promise<number> {
  if (ids.length === 0) return 0
  const wanted = new Set(ids)
  const candidates = await candidateKeys(shared, keys, [...wanted])
  const scores = await shared.client.zmscore(keys.dead, ...candidates)
  const order = candidates
    .map((key, i) => ({ key, score: scores[i] }))
    .filter((x): x is { key: string; score: string } => x.score !== null && x.score !== undefined)
    .sort((a, b) => Number(a.score) - Number(b.score))
    .map((x) => x.key)
  const entries = (await read(shared, keys, order)).filter(
    (e) => e.record.envelope !== undefined && wanted.has(e.record.id),
  )
  let replayed = 0
  for (let i = 0; i < entries.length && budget > 0; i += PAGE) {
    const chunk = entries.slice(i, i + Math.min(PAGE, budget))
    const n = await replayEntries(shared, keys, chunk)
    replayed += n
    budget -= chunk.length
  }
  return replayed
}

/** Everything (oldest first), at most `budget`: malformed entries stay, so the next page starts after the ones skipped. */
async function replayAll(shared: BrokerShared, keys: QueueKeys, budget: number): Promise<number> {
  let replayed = 0
  let skip = 0
  while (budget > 0) {
    const entryKeys = await shared.client.zrange(keys.dead, skip, skip + PAGE - 1)
    if (entryKeys.length === 0) break
    const entries = await read(shared, keys, entryKeys)
    const replayable: Entry[] = []
    for (const entry of entries) {
      if (entry.record.envelope === undefined) skip++
      else if (replayable.length < budget) replayable.push(entry)
    }
    if (replayable.length === 0) {
      if (entryKeys.length < PAGE) break
      continue
    }
    const n = await replayEntries(shared, keys, replayable)
    replayed += n
    budget -= replayable.length
    // Entries that vanished meanwhile (purged, replayed by someone else) no longer shift the offset.
  }
  return replayed
}

/** Put entries back on the live queue, atomically per entry; returns how many moved. */
async function replayEntries(shared: BrokerShared, keys: QueueKeys, entries: readonly Entry[]): Promise<number> {
  const args: (string | number)[] = []
  for (const { key, record } of entries) {
    const envelope = replayedEnvelope(record.envelope as Envelope, (record.envelope as Envelope).queue)
    args.push(key, envelope.priority, encodeStored(envelope))
  }
  if (args.length === 0) return 0
  const scriptKeys = [...keys.ready, keys.dead, keys.deadRecords, keys.wake, keys.deadReused]
  return Number(await shared.run('replay', scriptKeys, args))
}
