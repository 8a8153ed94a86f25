import type { ConveyorEvent, EncodedEventBatch } from '../contracts/event-stream'
import { safeJsonParse } from '../envelope/safe-json'

/**
 * A run that started and succeeded within one batch is written as one row instead of two events: its `task.started`
 * and `task.succeeded` share the id, task, queue, attempt and worker, and at concurrency 50 writing two full events
 * per job cost a Redis worker a third of its throughput (docs/events-and-history.md). A row is a JSON array in the
 * batch's array, where an event is an object; names are indexes into the batch's `names`.
 *
 * `[PAIR_ROW, id, task, queue, worker, attempt, startedAt, deliveryCount, waitMs, heldMs, succeededAfterMs,
 * durationMs, result?, resultTruncated?]` — the other times as differences from `startedAt` (short to write and to
 * store): `waitMs` = startedAt − enqueuedAt, `heldMs` = startedAt − notBefore (null when there is no `notBefore`),
 * `succeededAfterMs` = the success's `at` − startedAt. `worker` is -1 when absent; `result` is the JSON text the
 * event carries (a JSON string in the row), `resultTruncated` 1 when true.
 */
export const PAIR_ROW = 1

/** Positions in a pair row (the builder writes them in this order). */
const Pair = {
  Kind: 0,
  Id: 1,
  Task: 2,
  Queue: 3,
  Worker: 4,
  Attempt: 5,
  StartedAt: 6,
  DeliveryCount: 7,
  WaitMs: 8,
  HeldMs: 9,
  SucceededAfterMs: 10,
  DurationMs: 11,
  Result: 12,
  ResultTruncated: 13,
} as const

/**
 * The events of a batch a stream stored with `publishBatch`: its bytes (as text) parsed, rows expanded, in order.
 * `undefined` for text that is not a JSON array; an item that is neither an event object nor a well-formed row is
 * `undefined` in the result, so positions (offsets) stay those of the written events. Rows expand to two events, and
 * positions count events: the same text always gives the same list.
 */
export function decodeEventBatch(
  text: string,
  names: readonly string[] = [],
): (ConveyorEvent | undefined)[] | undefined {
  const parsed = safeJsonParse(text)
  if (!Array.isArray(parsed)) return undefined
  const events: (ConveyorEvent | undefined)[] = []
  for (const item of parsed as unknown[]) {
    if (!Array.isArray(item)) {
      events.push(item !== null && typeof item === 'object' ? (item as ConveyorEvent) : undefined)
      continue
    }
    const pair = item[Pair.Kind] === PAIR_ROW ? expandPair(item, names) : undefined
    if (pair === undefined) events.push(undefined, undefined)
    else events.push(pair[0], pair[1])
  }
  return events
}

/** The names table of a batch as stored (a JSON array of strings), or [] when it is missing or not one. */
export function decodeBatchNames(text: string | undefined): string[] {
  if (text === undefined) return []
  try {
    const parsed = safeJsonParse(text)
    return Array.isArray(parsed) && parsed.every((name) => typeof name === 'string') ? parsed : []
  } catch {
    return []
  }
}

/** Bytes of a batch as text: what a stream without its own binary path stores. */
export function batchText(batch: EncodedEventBatch): string {
  return Buffer.from(batch.bytes.buffer, batch.bytes.byteOffset, batch.bytes.byteLength).toString('utf8')
}

type Started = Extract<ConveyorEvent, { type: 'task.started' }>
type Succeeded = Extract<ConveyorEvent, { type: 'task.succeeded' }>

function expandPair(row: unknown[], names: readonly string[]): [Started, Succeeded] | undefined {
  const id = row[Pair.Id]
  const task = names[row[Pair.Task] as number]
  const queue = names[row[Pair.Queue] as number]
  const workerAt = row[Pair.Worker]
  const worker = workerAt === -1 ? undefined : names[workerAt as number]
  if (typeof id !== 'string' || task === undefined || queue === undefined) return undefined
  if (workerAt !== -1 && worker === undefined) return undefined
  const attempt = row[Pair.Attempt] as number
  const at = row[Pair.StartedAt] as number
  const held = row[Pair.HeldMs]
  const started: Started = {
    type: 'task.started',
    id,
    task,
    queue,
    attempt,
    at,
    ...(worker !== undefined ? { worker } : {}),
    deliveryCount: row[Pair.DeliveryCount] as number,
    enqueuedAt: at - (row[Pair.WaitMs] as number),
    ...(typeof held === 'number' ? { notBefore: at - held } : {}),
  }
  const result = row[Pair.Result]
  const succeeded: Succeeded = {
    type: 'task.succeeded',
    id,
    task,
    queue,
    attempt,
    at: at + (row[Pair.SucceededAfterMs] as number),
    ...(worker !== undefined ? { worker } : {}),
    durationMs: row[Pair.DurationMs] as number,
    ...(typeof result === 'string' ? { result } : {}),
    ...(row[Pair.ResultTruncated] === 1 ? { resultTruncated: true } : {}),
  }
  return [started, succeeded]
}
