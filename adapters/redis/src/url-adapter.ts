import type { UrlAdapter, UrlAdapterContext } from '@conveyor/core/adapter'
import { createRedisBroker } from './broker'
import type { RedisLogger } from './options'
import { createRedisResultBackend } from './result-backend'

/** Resolves `redis://`, `rediss://` and `redis+sentinel://` URLs (e.g. `CONVEYOR_BROKER_URL`) to this adapter. */
export const redisAdapter: UrlAdapter = Object.freeze({
  protocols: Object.freeze(['redis', 'rediss', 'redis+sentinel']),
  createBroker: (url: string, context?: UrlAdapterContext) => createRedisBroker({ url, ...loggerOf(context) }),
  createResultBackend: (url: string, context?: UrlAdapterContext) =>
    createRedisResultBackend({ url, ...loggerOf(context) }),
})

/** The app's logger, for outage reports: an app built from a URL logs them where it logs everything else. */
function loggerOf(context: UrlAdapterContext | undefined): { logger?: RedisLogger } {
  return context?.logger === undefined ? {} : { logger: context.logger }
}
