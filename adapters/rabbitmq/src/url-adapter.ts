import { InvalidOptionsError } from '@conveyor/core'
import { redactUrl, type UrlAdapter, type UrlAdapterContext } from '@conveyor/core/adapter'
import { createRabbitMQBroker } from './broker'
import { splitHosts } from './nodes'
import type { RabbitMQQueueType } from './options'
import { createRabbitMQResultBackend } from './result-backend'

/**
 * Read and remove Conveyor's own query parameters; the rest of the URL goes to amqplib (`heartbeat`, `frameMax`, …).
 * The URL may name several hosts separated by commas (a cluster's nodes), which `new URL` cannot parse as one.
 */
function split<const K extends string>(
  url: string,
  keys: readonly K[],
): { url: string; params: Partial<Record<K, string>> } {
  for (const node of splitHosts(url)) {
    try {
      new URL(node)
    } catch {
      // Not Node's TypeError: it carries the whole URL, password included, in its `input` field.
      throw new InvalidOptionsError(`[rabbitmq] not a URL: ${redactUrl(node)}`)
    }
  }
  const at = url.search(/[?#]/)
  const [head, tail] = at < 0 ? [url, ''] : [url.slice(0, at), url.slice(at)]
  const hash = tail.indexOf('#')
  const query = new URLSearchParams(hash < 0 ? tail.slice(1) : tail.slice(1, hash))
  const params: Partial<Record<K, string>> = {}
  for (const key of keys) {
    const value = query.get(key)
    if (value !== null) params[key] = value
    query.delete(key)
  }
  const rest = query.toString()
  return { url: rest === '' ? head : `${head}?${rest}`, params }
}

/** A numeric URL parameter, or a clear error naming it (the factories check the range). */
function numeric(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n)) {
    throw new InvalidOptionsError(`[rabbitmq] URL parameter ${name} must be a number, got "${value}"`)
  }
  return n
}

/** `http(s)://user:pass@host:port` from the AMQP URL: the management API beside the AMQP listener. */
function managementUrlOf(amqpUrl: string, port: number): string {
  // With several nodes, the first one's: any node of a cluster answers for the whole cluster.
  const parsed = new URL(splitHosts(amqpUrl)[0]!)
  if (!(Number.isInteger(port) && port > 0 && port < 65_536)) {
    throw new InvalidOptionsError(`[rabbitmq] URL parameter managementPort must be a port number, got ${port}`)
  }
  const credentials = parsed.username === '' ? '' : `${parsed.username}:${parsed.password}@`
  const scheme = parsed.protocol === 'amqps:' ? 'https' : 'http'
  return `${scheme}://${credentials}${parsed.hostname}:${port}`
}

/** A `true` / `false` URL parameter, or a clear error naming it. */
function flag(name: string, value: string): boolean {
  if (value === 'true' || value === 'false') return value === 'true'
  throw new InvalidOptionsError(`[rabbitmq] URL parameter ${name} must be true or false, got "${value}"`)
}

/**
 * Resolves `amqp://` and `amqps://` URLs for `createApp({ broker: url, results: url })`.
 *
 * - As a broker: query parameters `prefix`, `queueType`, `priorityLevels`, `confirmAcks` (`true` / `false`) and
 *   `managementPort` (the management API on the same host with the same credentials: `managementUrl`).
 * - As results: the RPC result backend (`createRabbitMQResultBackend`, Celery's `rpc://`), with `prefix`, `maxRecords`
 *   and `maxTtlMs`. It opens its own connection.
 */
export const rabbitmqAdapter: UrlAdapter = Object.freeze({
  protocols: ['amqp', 'amqps'],
  createBroker(url: string, context?: UrlAdapterContext) {
    const { url: rest, params } = split(url, ['prefix', 'queueType', 'priorityLevels', 'managementPort', 'confirmAcks'])
    const managementPort = numeric('managementPort', params.managementPort)
    return createRabbitMQBroker({
      url: rest,
      ...(managementPort !== undefined ? { managementUrl: managementUrlOf(rest, managementPort) } : {}),
      // The app's logger: an app built from a URL reports outages where it logs everything else.
      ...(context?.logger !== undefined ? { logger: context.logger } : {}),
      ...(params.prefix !== undefined ? { prefix: params.prefix } : {}),
      // Validated by the factory, which names the bad value.
      ...(params.queueType !== undefined ? { queueType: params.queueType as RabbitMQQueueType } : {}),
      ...(params.priorityLevels !== undefined
        ? { priorityLevels: numeric('priorityLevels', params.priorityLevels) }
        : {}),
      ...(params.confirmAcks !== undefined ? { confirmAcks: flag('confirmAcks', params.confirmAcks) } : {}),
    })
  },
  createResultBackend(url: string, context?: UrlAdapterContext) {
    const { url: rest, params } = split(url, ['prefix', 'maxRecords', 'maxTtlMs'])
    return createRabbitMQResultBackend({
      url: rest,
      ...(context?.logger !== undefined ? { logger: context.logger } : {}),
      ...(params.prefix !== undefined ? { prefix: params.prefix } : {}),
      ...(params.maxRecords !== undefined ? { maxRecords: numeric('maxRecords', params.maxRecords) } : {}),
      ...(params.maxTtlMs !== undefined ? { maxTtlMs: numeric('maxTtlMs', params.maxTtlMs) } : {}),
    })
  },
})
