import type { DeadLetter } from '@conveyor/core/adapter'
import type { MessagePropertyHeaders } from 'amqplib'

/**
 * Deliveries of the current attempt before this copy of the message was published. Classic queues do not count
 * deliveries, so the adapter republishes a redelivered message with this header incremented (the count survives
 * crashes and new broker instances); on quorum queues the server's `x-delivery-count` is added to it.
 */
export const DELIVERIES_HEADER = 'x-conveyor-deliveries'

/** JSON of the dead-letter record (everything but the envelope, which stays the body) on `<queue>.dead` messages. */
export const DEAD_HEADER = 'x-conveyor-dead'

/** The envelope header naming the reply queue a run's records go to (the RabbitMQ RPC result backend). */
export const REPLY_TO_HEADER = 'conveyor-reply-to'

/** Longest error message and stack kept in a dead-letter header: headers must stay small. */
const MAX_ERROR_MESSAGE = 2_048
const MAX_ERROR_STACK = 4_096

export const numberHeader = (headers: MessagePropertyHeaders | undefined, name: string): number => {
  const value: unknown = headers?.[name]
  const n = typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : Number(value ?? 0)
  return Number.isFinite(n) && n > 0 ? n : 0
}

/** What the dead-letter header holds: the dead letter without its body (the message body is the envelope or raw bytes). */
export type DeadRecord = Omit<DeadLetter, 'envelope' | 'raw'>

export function encodeDeadRecord(record: DeadRecord): string {
  const { error } = record
  const small: DeadRecord = error
    ? {
        ...record,
        error: {
          name: error.name,
          message: error.message.slice(0, MAX_ERROR_MESSAGE),
          ...(error.stack !== undefined ? { stack: error.stack.slice(0, MAX_ERROR_STACK) } : {}),
          ...(error.code !== undefined ? { code: error.code } : {}),
        },
      }
    : record
  return JSON.stringify(small)
}

export function decodeDeadRecord(headers: MessagePropertyHeaders | undefined): DeadRecord | undefined {
  const value: unknown = headers?.[DEAD_HEADER]
  const text = Buffer.isBuffer(value) ? value.toString('utf8') : value
  if (typeof text !== 'string') return undefined
  try {
    const parsed = JSON.parse(text) as DeadRecord
    return typeof parsed === 'object' && parsed !== null && typeof parsed.reason === 'string' ? parsed : undefined
  } catch {
    return undefined
  }
}

/** The server's own dead-lettering (quorum `x-delivery-limit`), described by its `x-death` header. */
export function serverDeathReason(headers: MessagePropertyHeaders | undefined): { reason: string; at: number } {
  const death = headers?.['x-death']?.[0]
  const reason = death?.reason as string | undefined
  const at = death?.time?.value
  return {
    reason: reason === 'delivery_limit' ? 'max-deliveries' : (reason ?? 'unknown'),
    at: typeof at === 'number' ? at * 1000 : Date.now(),
  }
}

export type { DeadLetter }

/** The W3C trace context headers a message may carry (`Envelope.trace` is copied to them on publish). */
const TRACE_HEADERS = ['traceparent', 'tracestate', 'baggage'] as const

/** The trace context of a message whose producer set it only as AMQP headers; undefined without a `traceparent`. */
export function traceFromHeaders(headers: MessagePropertyHeaders | undefined): Record<string, string> | undefined {
  const text = (value: unknown) => (Buffer.isBuffer(value) ? value.toString('utf8') : value)
  const traceparent = text(headers?.traceparent)
  if (typeof traceparent !== 'string' || traceparent === '') return undefined
  const trace: Record<string, string> = { traceparent }
  for (const name of TRACE_HEADERS.slice(1)) {
    const value = text(headers?.[name])
    if (typeof value === 'string' && value !== '') trace[name] = value
  }
  return trace
}
