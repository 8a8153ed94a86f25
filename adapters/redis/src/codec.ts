import { MalformedMessageError, SerializationError } from '@conveyor/core'
import { assertEnvelope, decodeEnvelope, type Envelope, safeJsonParse } from '@conveyor/core/adapter'

/**
 * The stored form of an envelope: a marker byte, then a JSON array of the always-present fields, then an object of
 * the optional ones when any is set. The queue is implied by the key. A small job takes ~70 bytes instead of ~150.
 * Bodies without the marker (`publishRaw`, interop producers) are read as envelope JSON.
 */
const COMPACT = '\u0001'
/** Starts a "delivered before" prefix in the stored form; a raw body starting with it is escaped. */
const COUNTED = '\u0002'

const OPTIONAL = ['notBefore', 'expiresAt', 'parentId', 'rootId', 'trace', 'headers'] as const

export function encodeStored(envelope: Envelope): string {
  const fields: unknown[] = [
    envelope.id,
    envelope.task,
    envelope.payload,
    envelope.priority,
    envelope.attempt,
    envelope.maxAttempts,
    envelope.createdAt,
  ]
  let extra: Record<string, unknown> | undefined
  for (const name of OPTIONAL) {
    if (envelope[name] !== undefined) {
      extra ??= {}
      extra[name] = envelope[name]
    }
  }
  if (extra !== undefined) fields.push(extra)
  try {
    return COMPACT + JSON.stringify(fields)
  } catch (error) {
    throw new SerializationError(
      `task "${envelope.task}" input cannot be encoded as JSON (${(error as Error).message}); pass plain data`,
      { cause: error },
    )
  }
}

/** A raw body as stored: as given, unless it would be mistaken for a counted element. */
export function storeRaw(body: string): string {
  return body.startsWith(COUNTED) ? `${COUNTED}0${COUNTED}${body}` : body
}

/** Decode a delivered body for `queue`. Throws `MalformedMessageError` for anything that is not an envelope. */
export function decodeStored(body: string, queue: string): Envelope {
  if (!body.startsWith(COMPACT)) {
    const envelope = decodeEnvelope(body)
    return envelope.queue === queue ? envelope : { ...envelope, queue }
  }
  const fields = safeJsonParse(body.slice(1))
  if (!Array.isArray(fields) || fields.length < 7 || fields.length > 8) {
    throw new MalformedMessageError('stored message is not a compact envelope')
  }
  const [id, task, payload, priority, attempt, maxAttempts, createdAt, extra] = fields
  if (extra !== undefined && (typeof extra !== 'object' || extra === null || Array.isArray(extra))) {
    throw new MalformedMessageError('compact envelope extras must be an object')
  }
  const envelope: Record<string, unknown> = { id, task, payload, queue, priority, attempt, maxAttempts, createdAt }
  if (extra !== undefined) {
    for (const name of OPTIONAL) {
      const value = (extra as Record<string, unknown>)[name]
      if (value !== undefined) envelope[name] = value
    }
  }
  assertEnvelope(envelope)
  return envelope
}

/**
 * When a stored element became ready (`notBefore`, else `createdAt`), read without decoding the whole envelope;
 * undefined for a raw body that is not an envelope. Feeds `QueueStats.oldestReadyAt`.
 */
export function storedReadyAt(stored: string): number | undefined {
  let body = stored
  if (body.startsWith(COUNTED)) body = body.slice(body.indexOf(COUNTED, 1) + 1)
  try {
    if (body.startsWith(COMPACT)) {
      const fields = JSON.parse(body.slice(1)) as unknown[]
      const extra = fields[7] as { notBefore?: unknown } | undefined
      const at = typeof extra?.notBefore === 'number' ? extra.notBefore : fields[6]
      return typeof at === 'number' ? at : undefined
    }
    const parsed = JSON.parse(body) as { createdAt?: unknown; notBefore?: unknown }
    const at = typeof parsed.notBefore === 'number' ? parsed.notBefore : parsed.createdAt
    return typeof at === 'number' ? at : undefined
  } catch {
    return undefined
  }
}
