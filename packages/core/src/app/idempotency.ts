import type { Broker } from '../contracts/broker'
import type { Envelope } from '../contracts/envelope'
import { safeJsonParse } from '../envelope/safe-json'
import { InvalidOptionsError } from '../errors/invalid-options-error'
import type { Logger } from '../logging/logger'
import type { CoordinationStore } from '../ops/coordination'

/** Stripe's limit: long enough for a UUID with a prefix, short enough to stay a key rather than a payload. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255

/** One enqueue's idempotency key, ready for the store. */
export interface IdempotencyRequest {
  /** The key in the store: the user's key scoped to the task. */
  readonly key: string
  readonly ttlMs: number
}

/** An envelope about to be published, with its key when it has one. */
export interface Prepared {
  readonly envelope: Envelope
  readonly idempotency?: IdempotencyRequest
}

/** The job that holds a key: what a duplicate's handle follows. */
export interface HeldJob {
  readonly id: string
  readonly queue: string
}

/** The keys one enqueue (or batch) claimed. */
export interface Claims {
  /** Per prepared item, in order: undefined when it must be published, else the job it duplicates. */
  readonly held: readonly (HeldJob | undefined)[]
  /** Give back the keys claimed for the envelopes `failed` accepts (all by default): their publish failed. */
  release(failed?: (envelope: Envelope) => boolean): Promise<void>
}

/** A window must be a positive number of milliseconds (Infinity would keep keys forever in the store). */
export function checkIdempotencyTtl(where: string, ttlMs: number | undefined): void {
  if (ttlMs === undefined || (typeof ttlMs === 'number' && Number.isFinite(ttlMs) && ttlMs >= 1)) return
  throw new InvalidOptionsError(
    `${where}: idempotencyTtlMs must be a finite number of milliseconds ≥ 1 (how long a repeated key is dropped, ` +
      `e.g. 86_400_000 for a day), got ${String(ttlMs)}`,
  )
}

/** Check an enqueue's key and window; undefined when it has no key. */
export function idempotencyOf(
  where: string,
  task: string,
  key: unknown,
  ttlOption: number | undefined,
  ttlDefault: number,
): IdempotencyRequest | undefined {
  checkIdempotencyTtl(where, ttlOption)
  if (key === undefined) return undefined
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    const got = typeof key === 'string' && key.length > 0 ? `${key.length} characters` : JSON.stringify(key)
    throw new InvalidOptionsError(
      `${where}: idempotencyKey must be a non-empty string of at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters ` +
        `naming the operation (e.g. "order-42"; hash longer keys), got ${got}`,
    )
  }
  // JSON keeps task and key apart whatever characters they hold: ("a:b", "c") and ("a", "b:c") never meet.
  return { key: JSON.stringify([task, key]), ttlMs: ttlOption ?? ttlDefault }
}

const holderOf = (envelope: Envelope) => JSON.stringify({ id: envelope.id, queue: envelope.queue })

function heldJob(holder: string, fallbackQueue: string): HeldJob {
  try {
    const parsed = safeJsonParse(holder) as { id?: unknown; queue?: unknown } | null
    if (parsed !== null && typeof parsed === 'object' && typeof parsed.id === 'string') {
      return { id: parsed.id, queue: typeof parsed.queue === 'string' ? parsed.queue : fallbackQueue }
    }
  } catch {
    // Not written by this app version: the value is the id itself.
  }
  return { id: holder, queue: fallbackQueue }
}

const NOTHING_CLAIMED: Claims = { held: [], release: async () => {} }

/**
 * Claim the keys of `items` in `store`. A key repeated inside the batch is claimed once, by its first item; the later
 * ones follow it. When a claim fails (store unreachable) the keys already claimed are given back and the error thrown:
 * nothing is published without its key.
 */
export async function claimKeys(store: CoordinationStore, logger: Logger, items: readonly Prepared[]): Promise<Claims> {
  if (!items.some((item) => item.idempotency !== undefined)) return NOTHING_CLAIMED
  const held: (HeldJob | undefined)[] = new Array(items.length).fill(undefined)
  const firstOf = new Map<string, number>()
  const repeats: [index: number, first: number][] = []
  items.forEach((item, index) => {
    if (item.idempotency === undefined) return
    const first = firstOf.get(item.idempotency.key)
    if (first === undefined) firstOf.set(item.idempotency.key, index)
    else repeats.push([index, first])
  })
  const firsts = [...firstOf.values()]
  const outcomes = await Promise.allSettled(
    firsts.map((index) => {
      const { envelope, idempotency } = items[index]!
      return store.claimIdempotencyKey(idempotency!.key, holderOf(envelope), idempotency!.ttlMs)
    }),
  )
  const claimed: Prepared[] = []
  let failure: unknown
  outcomes.forEach((outcome, n) => {
    const index = firsts[n]!
    const item = items[index]!
    if (outcome.status === 'rejected') failure ??= outcome.reason
    else if (outcome.value.claimed) claimed.push(item)
    else held[index] = heldJob(outcome.value.holder, item.envelope.queue)
  })
  const release = async (failed: (envelope: Envelope) => boolean = () => true) => {
    await Promise.all(
      claimed
        .filter((item) => failed(item.envelope))
        .map(({ envelope, idempotency }) =>
          store.releaseIdempotencyKey(idempotency!.key, holderOf(envelope)).catch((error: unknown) => {
            // The key now names a job that was never published, until it lapses: say so loudly.
            logger.error(
              { err: error, task: envelope.task, id: envelope.id, ttlMs: idempotency!.ttlMs },
              'publish failed and its idempotency key could not be released: retries with this key are dropped until it lapses',
            )
          }),
        ),
    )
  }
  if (failure !== undefined) {
    await release()
    throw failure
  }
  for (const [index, first] of repeats) {
    const { envelope } = items[first]!
    held[index] = held[first] ?? { id: envelope.id, queue: envelope.queue }
  }
  return { held, release }
}

/** Publish a batch; when that fails, give back the keys of what may not have been published, then throw. */
export async function publishBatch(broker: Broker, envelopes: readonly Envelope[], claims: Claims): Promise<void> {
  // One round trip per batch where the broker can (Redis: one script call); one publish each otherwise.
  if (broker.publishMany) {
    try {
      await broker.publishMany(envelopes)
    } catch (error) {
      // Which envelopes landed is unknown: free every key, so that a retry re-publishes rather than loses a job.
      await claims.release()
      throw error
    }
    return
  }
  const outcomes = await Promise.allSettled(envelopes.map((envelope) => broker.publish(envelope)))
  const failed = new Set(envelopes.filter((_, n) => outcomes[n]?.status === 'rejected'))
  if (failed.size === 0) return
  await claims.release((envelope) => failed.has(envelope))
  throw (outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult).reason
}
