import type { UrlAdapter } from '@conveyor/core'
import { createRedisBroker } from './broker'
import { createRedisResultBackend } from './result-backend'

/** Resolves `redis://` and `rediss://` URLs (e.g. `CONVEYOR_BROKER_URL`) to this adapter. */
export const redisAdapter: UrlAdapter = Object.freeze({
  protocols: Object.freeze(['redis', 'rediss']),
  createBroker: (url: string) => createRedisBroker({ url }),
  createResultBackend: (url: string) => createRedisResultBackend({ url }),
})
