import { randomUUID } from 'node:crypto'
import { MAX_PRIORITY, safeJsonParse } from '@conveyor/core/adapter'
import { CeleryDecodeError } from '../errors/celery-decode-error'
import type { CeleryHeaders, CeleryMessage, CeleryProperties } from '../protocol/types'

/**
 * Kombu's Redis transport layout (kombu/transport/redis.py, 5.x):
 * - one list per queue and priority step; producers LPUSH, consumers BRPOP from the right, so the list is FIFO;
 * - priority steps 0, 3, 6, 9: a message of priority p goes to the list of the largest step ≤ p, named `queue` for
 *   step 0 and `queue\x06\x16<step>` otherwise, and consumers read the steps in that order: on Redis, Kombu's
 *   priority 0 runs FIRST (the inverse of AMQP and of Conveyor, where 9 runs first);
 * - each list item is Kombu's JSON envelope: `body` (base64), `content-type`, `content-encoding`, `headers`, and
 *   `properties` with `delivery_info` {exchange, routing_key}, `body_encoding` and a unique `delivery_tag`.
 */
export const KOMBU_PRIORITY_STEPS = [0, 3, 6, 9] as const
const SEP = '\x06\x16'

/** The list keys of a queue, in the order consumers read them (Kombu priority 0 first = Conveyor priority 9 first). */
export function kombuListKeys(queue: string, globalKeyPrefix = ''): string[] {
  return KOMBU_PRIORITY_STEPS.map((step) => `${globalKeyPrefix}${queue}${step === 0 ? '' : `${SEP}${step}`}`)
}

/** Kombu's Redis priority for a Conveyor priority (higher first ↔ lower first). */
export const toKombuPriority = (priority: number): number => MAX_PRIORITY - priority
/** Conveyor's priority for a Kombu Redis priority; out-of-range values are clamped as Kombu does. */
export const fromKombuPriority = (priority: unknown): number =>
  MAX_PRIORITY - Math.min(MAX_PRIORITY, Math.max(0, typeof priority === 'number' ? Math.trunc(priority) : 0))

/** Index into `kombuListKeys` of the list a message of this Kombu priority goes to. */
export function kombuListIndex(kombuPriority: number): number {
  let index = 0
  KOMBU_PRIORITY_STEPS.forEach((step, i) => {
    if (kombuPriority >= step) index = i
  })
  return index
}

/** The JSON string Kombu LPUSHes for a message (what `basic_publish` + `_put` write). */
export function encodeKombu(message: CeleryMessage, queue: string): string {
  return JSON.stringify({
    body: Buffer.from(message.body, 'utf8').toString('base64'),
    'content-encoding': message.contentEncoding,
    'content-type': message.contentType,
    headers: message.headers,
    properties: {
      ...message.properties,
      delivery_info: { exchange: '', routing_key: queue },
      body_encoding: 'base64',
      delivery_tag: randomUUID(),
    },
  })
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** Decode one list item. Throws `CeleryDecodeError('malformed')` for anything that is not Kombu's envelope. */
export function decodeKombu(raw: string): CeleryMessage {
  let value: unknown
  try {
    value = safeJsonParse(raw)
  } catch {
    throw new CeleryDecodeError('malformed', 'not a Kombu message: not JSON')
  }
  if (!isRecord(value) || typeof value.body !== 'string' || !isRecord(value.properties)) {
    throw new CeleryDecodeError('malformed', 'not a Kombu message: needs "body" and "properties"')
  }
  const properties = value.properties
  const headers = isRecord(value.headers) ? value.headers : {}
  const body = properties.body_encoding === 'base64' ? Buffer.from(value.body, 'base64').toString('utf8') : value.body
  return {
    headers: headers as unknown as CeleryHeaders,
    properties: properties as unknown as CeleryProperties,
    contentType: typeof value['content-type'] === 'string' ? value['content-type'] : '',
    contentEncoding: typeof value['content-encoding'] === 'string' ? value['content-encoding'] : 'utf-8',
    body,
  }
}
