import { InvalidOptionsError } from '@conveyor/core'
import { redactUrl } from '@conveyor/core/adapter'
import type { Options } from 'amqplib'

/**
 * Reads queue statistics from RabbitMQ's management plugin (its HTTP API), for what AMQP 0-9-1 cannot tell without
 * taking messages off the queue: how long the head message has waited. RabbitMQ reports `head_message_timestamp`,
 * the AMQP `timestamp` property (seconds) of the queue's head, which the adapter sets on every message it publishes
 * (the time the message is ready: now, or when its delay ends). Only the plugin's statistics are read, never a
 * message, so nothing is redelivered or reordered.
 *
 * What RabbitMQ 3.10 reports (docs/adapters/rabbitmq.md has the details): classic FIFO queues — the oldest message
 * not yet acknowledged (a held delivery counts until it is acked); classic priority queues — the head of the highest
 * non-empty priority; quorum queues — nothing. Statistics are refreshed every `collect_statistics_interval` (5 s by
 * default), so the age lags by up to that much.
 */
export class ManagementClient {
  private readonly base: string
  private readonly authorization: string | undefined
  private readonly vhost: string

  constructor(
    url: string,
    connect: string | Options.Connect | undefined,
    private readonly timeoutMs: number,
  ) {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      throw new InvalidOptionsError(`[rabbitmq] managementUrl is not a URL: ${redactUrl(url)}`)
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new InvalidOptionsError(`[rabbitmq] managementUrl must be http:// or https://, got ${redactUrl(url)}`)
    }
    // fetch refuses URLs with credentials: they go into the Authorization header instead.
    const user = decodeURIComponent(parsed.username)
    const password = decodeURIComponent(parsed.password)
    this.authorization =
      user === '' ? undefined : `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`
    parsed.username = ''
    parsed.password = ''
    this.base = parsed.toString().replace(/\/+$/, '')
    this.vhost = vhostOf(connect)
  }

  /** When the head of `queue` (a server-side name) became ready, epoch ms; undefined when RabbitMQ does not say. */
  async headReadyAt(queue: string): Promise<number | undefined> {
    const path = `/api/queues/${encodeURIComponent(this.vhost)}/${encodeURIComponent(queue)}`
    const response = await fetch(`${this.base}${path}?columns=head_message_timestamp,messages_ready`, {
      headers: this.authorization === undefined ? {} : { authorization: this.authorization },
      signal: AbortSignal.timeout(this.timeoutMs),
    })
    if (!response.ok) {
      // The URL has no credentials left in it (they moved to the header), so it may be named.
      throw new Error(`[conveyor] [rabbitmq] management API ${this.base}${path} answered ${response.status}`)
    }
    const body = (await response.json()) as { head_message_timestamp?: unknown; messages_ready?: unknown }
    const seconds = body.head_message_timestamp
    return typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined
  }
}

/** The vhost the AMQP URL (or connect object) names: the URL's path, `/` when there is none. */
function vhostOf(connect: string | Options.Connect | undefined): string {
  if (connect === undefined) return '/'
  if (typeof connect !== 'string') return connect.vhost ?? '/'
  try {
    const path = new URL(connect).pathname
    return path === '' || path === '/' ? '/' : decodeURIComponent(path.slice(1))
  } catch {
    return '/'
  }
}
