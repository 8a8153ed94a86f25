import type { ConsumeMessage, Options } from 'amqplib'
import type { CeleryHeaders, CeleryMessage, CeleryProperties } from '../protocol/types'

/** An AMQP delivery as the protocol v2 parts (what Kombu's `Message` gives Celery). */
export function fromAmqp(message: ConsumeMessage): CeleryMessage {
  const p = message.properties
  const properties: CeleryProperties = {
    correlation_id: typeof p.correlationId === 'string' ? p.correlationId : '',
    ...(typeof p.replyTo === 'string' ? { reply_to: p.replyTo } : {}),
    ...(typeof p.priority === 'number' ? { priority: p.priority } : {}),
    ...(typeof p.deliveryMode === 'number' ? { delivery_mode: p.deliveryMode } : {}),
  }
  return {
    headers: (p.headers ?? {}) as CeleryHeaders,
    properties,
    contentType: typeof p.contentType === 'string' ? p.contentType : '',
    contentEncoding: typeof p.contentEncoding === 'string' ? p.contentEncoding : 'utf-8',
    body: message.content.toString('utf8'),
  }
}

/** Publish options of a protocol v2 message, as Celery sets them (`expiration` from `expires`, like Celery 5). */
export function amqpPublishOptions(message: CeleryMessage, expiresAt: number | undefined): Options.Publish {
  const ttl = expiresAt === undefined ? undefined : Math.max(0, Math.round(expiresAt - Date.now()))
  return {
    contentType: message.contentType,
    contentEncoding: message.contentEncoding,
    headers: message.headers,
    correlationId: message.properties.correlation_id,
    ...(message.properties.reply_to !== undefined ? { replyTo: message.properties.reply_to } : {}),
    deliveryMode: 2,
    priority: message.properties.priority ?? 0,
    ...(ttl !== undefined ? { expiration: String(ttl) } : {}),
  }
}
