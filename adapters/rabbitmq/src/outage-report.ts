import { nodeAddresses, type RabbitMQUrl } from './nodes'
import type { RabbitMQLogger } from './options'

/**
 * One server's outage as one logger reports it. The connections of one app to the same RabbitMQ (broker, RPC result
 * backend, event stream) each notice an outage; sharing the report makes it one line when lost and one when back,
 * naming every part it hit, instead of one pair per connection.
 */
class ServerOutage {
  private since: number | undefined
  private readonly parts = new Set<string>()

  constructor(
    private readonly logger: RabbitMQLogger,
    private readonly server: string,
  ) {}

  lost(part: string, name: string, error: unknown): void {
    this.parts.add(part)
    if (this.since !== undefined) return
    this.since = Date.now()
    this.logger.warn(
      { err: error, name, server: this.server, parts: [...this.parts] },
      `[conveyor] [rabbitmq] ${this.who()}: connection lost; reconnecting`,
    )
  }

  /** The first connection back ends the outage: the server is reachable again. */
  back(name: string): void {
    if (this.since === undefined) return
    const outageMs = Date.now() - this.since
    this.logger.info(
      { name, outageMs, server: this.server, parts: [...this.parts] },
      `[conveyor] [rabbitmq] ${this.who()}: connection back after ${(outageMs / 1000).toFixed(1)} s; resuming`,
    )
    this.since = undefined
    this.parts.clear()
  }

  /** `broker, result backend at 10.0.0.5:5672`: host and port only, never credentials. */
  private who(): string {
    return `${[...this.parts].join(', ')} at ${this.server}`
  }
}

const outages = new WeakMap<RabbitMQLogger, Map<string, ServerOutage>>()

/** The shared outage report of `server` on `logger`. */
export function outageReport(logger: RabbitMQLogger, server: string): ServerOutage {
  let byServer = outages.get(logger)
  if (byServer === undefined) {
    byServer = new Map()
    outages.set(logger, byServer)
  }
  let outage = byServer.get(server)
  if (outage === undefined) {
    outage = new ServerOutage(logger, server)
    byServer.set(server, outage)
  }
  return outage
}

/** host:port of a connection URL or options object (of each node, for a cluster), without credentials. */
export function serverName(urls: RabbitMQUrl): string {
  const nodes = nodeAddresses(urls)
  if (nodes.length > 1) return nodes.map(serverName).join(',')
  const url = nodes[0]!
  if (typeof url !== 'string') {
    const tls = url.protocol === 'amqps'
    return `${url.hostname ?? 'localhost'}:${url.port ?? (tls ? 5671 : 5672)}`
  }
  try {
    const parsed = new URL(url)
    return `${parsed.hostname}:${parsed.port || (parsed.protocol === 'amqps:' ? 5671 : 5672)}`
  } catch {
    return 'RabbitMQ'
  }
}
