import type { Logger } from '../logging/logger'
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
  /** `context` carries the app's logger, so connection trouble is reported wherever the app logs. */
  createBroker(url: string, context?: UrlAdapterContext): Broker
  createResultBackend?(url: string, context?: UrlAdapterContext): ResultBackend
}

/** What `createApp` hands an adapter resolving a URL for it. */
export interface UrlAdapterContext {
  /** The app's logger (pino). Adapters log connection loss and recovery through it. */
  readonly logger?: Logger
}
