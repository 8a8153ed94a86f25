import type { UrlAdapter } from '@conveyor/core/adapter'
import { createPostgresBroker } from './broker'

/** The query parameter that names the namespace; removed before the URL reaches pg. */
const NAMESPACE_PARAM = 'conveyor_namespace'

/**
 * Lets `createApp({ broker: 'postgres://…', adapters: [postgresAdapter] })` resolve the plugin from a URL, so
 * `CONVEYOR_BROKER_URL=postgres://user@host/db?conveyor_namespace=jobs` switches an app to it without code changes.
 */
export const postgresAdapter: UrlAdapter = Object.freeze({
  protocols: ['postgres', 'postgresql'],
  createBroker(url: string) {
    const parsed = new URL(url)
    const namespace = parsed.searchParams.get(NAMESPACE_PARAM) ?? undefined
    parsed.searchParams.delete(NAMESPACE_PARAM)
    return createPostgresBroker({
      connectionString: parsed.toString(),
      ...(namespace !== undefined ? { namespace } : {}),
    })
  },
})
