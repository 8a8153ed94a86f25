import type { Envelope } from '../contracts/envelope'
import { MAX_PRIORITY, MIN_PRIORITY } from '../contracts/envelope'
import { MalformedMessageError } from '../errors/malformed-message-error'
import { SerializationError } from '../errors/serialization-error'
import { safeJsonParse } from './safe-json'

/** Encode an envelope as the JSON every adapter may put on the wire. */
export function encodeEnvelope(envelope: Envelope): string {
  try {
    return JSON.stringify(envelope)
  } catch (error) {
    throw new SerializationError(
      `task "${envelope.task}" input cannot be encoded as JSON (${(error as Error).message}); pass plain data`,
      { cause: error },
    )
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isStringMap(value: unknown): value is Record<string, string> {
  return isRecord(value) && Object.values(value).every((v) => typeof v === 'string')
}

const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value)

/** Throw for the first bad field (module level: a closure made per check cost an allocation per delivery). */
function bad(field: string, want: string): never {
  throw new MalformedMessageError(`envelope field "${field}" must be ${want}`)
}

const TIME_FIELDS = ['notBefore', 'expiresAt'] as const
const ID_FIELDS = ['parentId', 'rootId'] as const
const MAP_FIELDS = ['trace', 'headers'] as const

/**
 * Check that a decoded value is an envelope. Throws `MalformedMessageError` naming the first bad field; consumers
 * dead-letter such messages with reason `malformed`. Runs once per delivery: no allocation on the good path.
 */
export function assertEnvelope(value: unknown): asserts value is Envelope {
  if (!isRecord(value)) bad('(root)', 'an object')
  const v = value as Record<string, unknown>
  if (typeof v.id !== 'string' || v.id === '') bad('id', 'a non-empty string')
  if (typeof v.task !== 'string' || v.task === '') bad('task', 'a non-empty string')
  if (!('payload' in v)) bad('payload', 'present')
  if (typeof v.queue !== 'string' || v.queue === '') bad('queue', 'a non-empty string')
  const priority = v.priority
  if (!Number.isInteger(priority) || (priority as number) < MIN_PRIORITY || (priority as number) > MAX_PRIORITY) {
    bad('priority', `an integer ${MIN_PRIORITY}–${MAX_PRIORITY}`)
  }
  if (!Number.isInteger(v.attempt) || (v.attempt as number) < 1) bad('attempt', 'an integer ≥ 1')
  if (!Number.isInteger(v.maxAttempts) || (v.maxAttempts as number) < 1) bad('maxAttempts', 'an integer ≥ 1')
  if (!isFiniteNumber(v.createdAt)) bad('createdAt', 'epoch milliseconds')
  for (const field of TIME_FIELDS) {
    if (v[field] !== undefined && !isFiniteNumber(v[field])) bad(field, 'epoch milliseconds')
  }
  for (const field of ID_FIELDS) {
    if (v[field] !== undefined && typeof v[field] !== 'string') bad(field, 'a string')
  }
  for (const field of MAP_FIELDS) {
    if (v[field] !== undefined && !isStringMap(v[field])) bad(field, 'an object of strings')
  }
}

/** Decode and validate wire JSON into an envelope. Throws `MalformedMessageError`. */
export function decodeEnvelope(text: string): Envelope {
  const value = safeJsonParse(text)
  assertEnvelope(value)
  return value
}

/** Size in bytes of a string once UTF-8 encoded. */
export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8')
}
