import { safeJsonParse, type TaskRecord } from '@conveyor/core/adapter'

/** What travels on the reply queue: the record and how long the worker asked it to be kept. */
export interface ReplyMessage {
  readonly v: 1
  readonly ttlMs: number
  readonly record: TaskRecord
}

export function encodeReply(record: TaskRecord, ttlMs: number): Buffer {
  return Buffer.from(JSON.stringify({ v: 1, ttlMs, record } satisfies ReplyMessage), 'utf8')
}

/** The reply message, or undefined when it is not one (never trusted: anybody may publish to the queue). */
export function decodeReply(content: Buffer): ReplyMessage | undefined {
  let parsed: unknown
  try {
    parsed = safeJsonParse(content.toString('utf8'))
  } catch {
    return undefined
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined
  const { ttlMs, record } = parsed as Partial<ReplyMessage>
  if (typeof ttlMs !== 'number' || !(ttlMs > 0)) return undefined
  if (typeof record !== 'object' || record === null) return undefined
  if (typeof record.id !== 'string' || typeof record.state !== 'string') return undefined
  return { v: 1, ttlMs, record }
}
