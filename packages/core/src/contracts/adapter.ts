import type { Broker } from './broker'
import type { ResultBackend } from './result-backend'

/** How an adapter package exposes its broker: a plain factory function, typed by its options. */
export type BrokerFactory<Options = void> = (options: Options) => Broker

/** How an adapter package exposes its result backend. */
export type ResultBackendFactory<Options = void> = (options: Options) => ResultBackend

/**
 * Lets `createApp({ broker: 'redis://…' })` resolve a URL to an adapter, so `CONVEYOR_BROKER_URL` switches brokers
 * without code changes. Each adapter package exports one; a custom plugin registers its own scheme.
 */
export interface UrlAdapter {
  /** URL schemes without the colon, e.g. `['redis', 'rediss']`. */
  readonly protocols: readonly string[]
  createBroker(url: string): Broker
  createResultBackend?(url: string): ResultBackend
}
