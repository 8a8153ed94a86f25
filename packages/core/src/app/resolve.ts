import { createMemoryBroker } from '../broker/memory-broker'
import type { UrlAdapter, UrlAdapterContext } from '../contracts/adapter'
import type { Broker } from '../contracts/broker'
import type { ResultBackend } from '../contracts/result-backend'
import { InvalidOptionsError } from '../errors/invalid-options-error'
import type { Logger } from '../logging/logger'
import { createMemoryResultBackend } from '../results/memory-result-backend'
import { redactUrl } from '../util/redact'

const memoryAdapter: UrlAdapter = {
  protocols: ['memory'],
  createBroker: () => createMemoryBroker(),
  createResultBackend: () => createMemoryResultBackend(),
}

function protocolOf(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(url)
  if (!m?.[1])
    throw new InvalidOptionsError(
      `"${redactUrl(url)}" is not a URL; expected e.g. memory://, redis://host:6379, amqp://host`,
    )
  return m[1].toLowerCase()
}

function adapterFor(url: string, adapters: readonly UrlAdapter[]): UrlAdapter {
  const protocol = protocolOf(url)
  const found = [...adapters, memoryAdapter].find((a) => a.protocols.includes(protocol))
  if (found) return found
  const hint =
    protocol === 'redis' || protocol === 'rediss' || protocol === 'redis+sentinel'
      ? "import { redisAdapter } from '@conveyor/redis' and pass adapters: [redisAdapter]"
      : protocol === 'amqp' || protocol === 'amqps'
        ? "import { rabbitmqAdapter } from '@conveyor/rabbitmq' and pass adapters: [rabbitmqAdapter]"
        : 'pass the adapter that handles it in createApp({ adapters })'
  throw new InvalidOptionsError(`no adapter for "${protocol}://" URLs: ${hint}`)
}

export function resolveBroker(broker: Broker | string, adapters: readonly UrlAdapter[], logger?: Logger): Broker {
  return typeof broker === 'string' ? adapterFor(broker, adapters).createBroker(broker, contextOf(logger)) : broker
}

const contextOf = (logger: Logger | undefined): UrlAdapterContext => (logger === undefined ? {} : { logger })

/**
 * The app's result backend. Omitted `results` means the broker's natural store: with a broker URL, the result backend
 * the same adapter builds from that URL (memory: in-process; Redis: the same server and prefix; RabbitMQ: RPC results
 * sent back to the producer), so `CONVEYOR_BROKER_URL` alone gives a working `job.result()` on every broker. A broker
 * instance says nothing about where results should live, so none is assumed; `job.result()` then names what to pass.
 */
export function resolveResults(
  results: ResultBackend | string | false | undefined,
  brokerInput: Broker | string,
  adapters: readonly UrlAdapter[],
  logger?: Logger,
): ResultBackend | undefined {
  if (results === false) return undefined
  if (results === undefined) {
    if (typeof brokerInput === 'string') {
      return adapterFor(brokerInput, adapters).createResultBackend?.(brokerInput, contextOf(logger))
    }
    return brokerInput.name === 'memory' ? createMemoryResultBackend() : undefined
  }
  if (typeof results !== 'string') return results
  const adapter = adapterFor(results, adapters)
  if (!adapter.createResultBackend) {
    throw new InvalidOptionsError(`the adapter for "${protocolOf(results)}://" has no result backend; use another`)
  }
  return adapter.createResultBackend(results, contextOf(logger))
}

/** What `job.result()` says when the app has no result backend: what to pass for the broker it has. */
export function noResultsHint(brokerName: string): string {
  const pass =
    brokerName === 'redis'
      ? "createApp({ results: createRedisResultBackend({ url }) }) from '@conveyor/redis', or results: 'redis://…'"
      : brokerName === 'rabbitmq'
        ? "createApp({ results: createRabbitMQResultBackend({ url }) }) from '@conveyor/rabbitmq' (or results: 'amqp://…'), or a Redis result backend"
        : 'createApp({ results }) with a result backend, or a URL its adapter resolves'
  return `this app has no result backend (results: false, or a ${brokerName} broker instance without results): pass ${pass}`
}
