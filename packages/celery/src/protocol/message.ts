import { hostname } from 'node:os'
import { type Envelope, type JsonValue, safeJsonParse } from '@conveyor/core/adapter'
import { CeleryDecodeError } from '../errors/celery-decode-error'
import { CeleryPayloadError } from '../errors/celery-payload-error'
import { fromCeleryTime, toCeleryTime } from './time'
import type { CeleryHeaders, CeleryMessage, CeleryProperties } from './types'

/** Envelope header carrying the RPC reply queue (`reply_to`) of the producer, so results can be sent there. */
export const REPLY_TO_HEADER = 'celery-reply-to'
/** Envelope header carrying the AMQP `correlation_id` when it is not the task id. */
export const CORRELATION_ID_HEADER = 'celery-correlation-id'
/** Envelope header carrying the producer's `origin` (`pid@host`). */
export const ORIGIN_HEADER = 'celery-origin'
/** Envelope header carrying the Celery group id, when the task is a group member. */
export const GROUP_HEADER = 'celery-group'

/** What the transport knows beside the message itself. */
export interface DecodeContext {
  /** The queue the message was read from. */
  readonly queue: string
  /** Conveyor priority 0–9 (higher first), already translated from the transport's order. */
  readonly priority: number
  /** Attempts allowed for this task (Celery messages carry none; see `CeleryBrokerOptions.maxAttempts`). */
  readonly maxAttempts: (task: string) => number
  /** Fallback for `createdAt` (Celery messages carry no enqueue time). */
  readonly now: number
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

const optionalString = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined

/** Decode a protocol v2 message into the envelope a Conveyor worker runs. Throws `CeleryDecodeError`. */
export function celeryToEnvelope(message: CeleryMessage, context: DecodeContext): Envelope {
  const { headers } = message
  // No content type at all (raw bytes put on the queue by hand) is tried as JSON and refused as malformed if not.
  if (message.contentType !== 'application/json' && message.contentType !== '') {
    throw new CeleryDecodeError(
      'unsupported-content-type',
      `content type ${JSON.stringify(message.contentType)} is not run (only application/json; pickle is never decoded)`,
    )
  }
  const body = parseBody(message.body)
  if (typeof headers.task !== 'string' || headers.task === '') {
    if (isRecord(body) && typeof body.task === 'string') {
      throw new CeleryDecodeError(
        'unsupported-protocol',
        'task protocol v1 message (task in the body): send protocol 2',
      )
    }
    throw new CeleryDecodeError('malformed', 'header "task" must be a non-empty string')
  }
  if (typeof headers.id !== 'string' || headers.id === '') {
    throw new CeleryDecodeError('malformed', 'header "id" must be a non-empty string')
  }
  if (!Array.isArray(body) || !Array.isArray(body[0]) || !isRecord(body[1])) {
    throw new CeleryDecodeError('malformed', 'body must be [args, kwargs, embed]')
  }
  const embed: unknown = body[2]
  if (isRecord(embed) && ['callbacks', 'errbacks', 'chain', 'chord'].some((link) => embed[link] != null)) {
    throw new CeleryDecodeError('unsupported-canvas', 'canvas links (callbacks, errbacks, chain, chord) are not run')
  }
  const retries = headers.retries ?? 0
  if (!Number.isInteger(retries) || retries < 0) {
    throw new CeleryDecodeError('malformed', 'header "retries" must be an integer ≥ 0')
  }
  const eta = fromCeleryTime(headers.eta)
  const expires = fromCeleryTime(headers.expires)
  if (Number.isNaN(eta) || Number.isNaN(expires)) {
    throw new CeleryDecodeError('malformed', 'headers "eta" and "expires" must be ISO 8601 times or null')
  }
  return {
    id: headers.id,
    task: headers.task,
    payload: { args: body[0], kwargs: body[1] } as JsonValue,
    queue: context.queue,
    priority: context.priority,
    attempt: retries + 1,
    maxAttempts: Math.max(context.maxAttempts(headers.task), retries + 1),
    createdAt: context.now,
    ...(eta !== undefined ? { notBefore: eta } : {}),
    ...(expires !== undefined ? { expiresAt: expires } : {}),
    ...(optionalString(headers.parent_id) ? { parentId: headers.parent_id as string } : {}),
    ...(optionalString(headers.root_id) ? { rootId: headers.root_id as string } : {}),
    headers: envelopeHeaders(headers, message.properties),
  }
}

function parseBody(text: string): unknown {
  try {
    return safeJsonParse(text)
  } catch {
    throw new CeleryDecodeError('malformed', 'body is not JSON')
  }
}

function envelopeHeaders(headers: CeleryHeaders, properties: CeleryProperties): Record<string, string> {
  const out: Record<string, string> = {}
  const replyTo = optionalString(properties.reply_to)
  if (replyTo) out[REPLY_TO_HEADER] = replyTo
  const correlation = optionalString(properties.correlation_id)
  if (correlation && correlation !== headers.id) out[CORRELATION_ID_HEADER] = correlation
  const origin = optionalString(headers.origin)
  if (origin) out[ORIGIN_HEADER] = origin
  const group = optionalString(headers.group)
  if (group) out[GROUP_HEADER] = group
  return out
}

/** The `{ args, kwargs }` of an envelope bound for Celery, checked. Throws `CeleryPayloadError`. */
export function celeryArguments(envelope: Envelope): { args: unknown[]; kwargs: Record<string, unknown> } {
  const payload: unknown = envelope.payload
  if (Array.isArray(payload)) return { args: payload, kwargs: {} }
  if (isRecord(payload) && Array.isArray(payload.args) && (payload.kwargs === undefined || isRecord(payload.kwargs))) {
    return { args: payload.args, kwargs: (payload.kwargs as Record<string, unknown> | undefined) ?? {} }
  }
  throw new CeleryPayloadError(envelope.task, describe(payload))
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 80 ? `${text.slice(0, 77)}...` : text
}

const origin = `${process.pid}@${hostname()}`

/**
 * Encode an envelope as Celery 5 would send it (`as_task_v2`). `priority` is the transport's number (Kombu's Redis
 * order is inverted; the caller translates).
 */
export function envelopeToCelery(envelope: Envelope, priority: number): CeleryMessage {
  const { args, kwargs } = celeryArguments(envelope)
  const replyTo = envelope.headers?.[REPLY_TO_HEADER]
  const headers: CeleryHeaders = {
    lang: 'js',
    task: envelope.task,
    id: envelope.id,
    shadow: null,
    eta: envelope.notBefore !== undefined ? toCeleryTime(envelope.notBefore) : null,
    expires: envelope.expiresAt !== undefined ? toCeleryTime(envelope.expiresAt) : null,
    group: envelope.headers?.[GROUP_HEADER] ?? null,
    group_index: null,
    retries: envelope.attempt - 1,
    timelimit: [null, null],
    root_id: envelope.rootId ?? envelope.id,
    parent_id: envelope.parentId ?? null,
    argsrepr: JSON.stringify(args),
    kwargsrepr: JSON.stringify(kwargs),
    origin: envelope.headers?.[ORIGIN_HEADER] ?? origin,
    ignore_result: false,
  }
  const properties: CeleryProperties = {
    correlation_id: envelope.headers?.[CORRELATION_ID_HEADER] ?? envelope.id,
    ...(replyTo !== undefined ? { reply_to: replyTo } : {}),
    delivery_mode: 2,
    priority,
  }
  const body = JSON.stringify([args, kwargs, { callbacks: null, errbacks: null, chain: null, chord: null }])
  return { headers, properties, contentType: 'application/json', contentEncoding: 'utf-8', body }
}
