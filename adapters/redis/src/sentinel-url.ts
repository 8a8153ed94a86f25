import { InvalidOptionsError } from '@conveyor/core'
import { redactUrl } from '@conveyor/core/adapter'
import type { RedisOptions } from 'ioredis'

/** The scheme of a URL naming Sentinels instead of a server. */
export const SENTINEL_PROTOCOL = 'redis+sentinel:'

/** Sentinel's own default port, used for a host given without one. */
const SENTINEL_PORT = 26_379

// scheme :// [userinfo @] hosts / master-name [/ db] [/] [? query]; hosts is a comma-separated list WHATWG URL refuses.
// The user-info runs to the last @ (as in redis:// URLs), so a password holding @ stays whole; no @ after it.
const SHAPE = /^redis\+sentinel:\/\/(?:([^/?#]*)@)?([^@/?#]+)\/([^@/?#]+)(?:\/(\d+))?\/?(?:\?([^#]*))?$/i

/** What a `redis+sentinel://` URL says: ioredis options for a Sentinel-managed master, and the query string. */
export interface SentinelUrl {
  readonly redis: RedisOptions
  readonly query: URLSearchParams
}

function hostPort(entry: string, url: string): { host: string; port: number } {
  // [::1]:26379, host:26379, or a host alone.
  const match = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d+))?$/.exec(entry.trim())
  const port = Number(match?.[2] ?? SENTINEL_PORT)
  if (match?.[1] === undefined || !(port > 0 && port < 65_536)) {
    throw new InvalidOptionsError(`[redis] bad Sentinel address "${entry}" in ${redactUrl(url)}`)
  }
  return { host: match[1].replace(/^\[|\]$/g, ''), port }
}

/**
 * `redis+sentinel://[user:password@]host[:port][,host[:port]…]/master-name[/db][?query]`: the Sentinels to ask
 * (port 26379 when omitted) and the name of the master they monitor. The user and password are the data nodes'
 * (master and replicas); Sentinels that require a password of their own need the `redis` options
 * (`sentinelPassword`). ioredis asks the Sentinels for the current master and asks again after a failover.
 */
export function parseSentinelUrl(url: string): SentinelUrl {
  const match = SHAPE.exec(url)
  if (match === null) {
    throw new InvalidOptionsError(
      `[redis] not a Sentinel URL: ${redactUrl(url)}; expected redis+sentinel://[user:password@]host:port[,host:port…]/master-name[/db] (percent-encode / ? # in a password)`,
    )
  }
  const [, userinfo, hosts = '', rawName = '', db, query] = match
  const sentinels = hosts.split(',').map((entry) => hostPort(entry, url))
  const redis: RedisOptions = { sentinels, name: decodeURIComponent(rawName) }
  if (db !== undefined) redis.db = Number(db)
  if (userinfo !== undefined && userinfo !== '') {
    const colon = userinfo.indexOf(':')
    // Like redis://: a lone user-info part is the password (Redis before ACLs had no user names).
    const user = colon >= 0 ? decodeURIComponent(userinfo.slice(0, colon)) : ''
    const password = decodeURIComponent(colon >= 0 ? userinfo.slice(colon + 1) : userinfo)
    if (user !== '') redis.username = user
    if (password !== '') redis.password = password
  }
  return { redis, query: new URLSearchParams(query ?? '') }
}
