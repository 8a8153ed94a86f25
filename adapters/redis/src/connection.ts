import { InvalidOptionsError, NotConnectedError } from '@conveyor/core'
import { redactError, redactSecrets, redactUrl } from '@conveyor/core/adapter'
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import { refuseAfterEnd } from './cluster-end'
import type { RedisClient, RedisConnectionOptions } from './options'
import { parseSentinelUrl, SENTINEL_PROTOCOL } from './sentinel-url'

/** A client plus whether the adapter created it (and so must close it). */
export interface OwnedClient {
  readonly client: RedisClient
  readonly owned: boolean
}

/** Adapter settings carried in a URL's query string, removed before ioredis sees the URL. */
export interface UrlSettings {
  /** The URL without the adapter's parameters, for ioredis (`redis://`, `rediss://`). */
  readonly url?: string
  /** ioredis options naming Sentinels and a master (`redis+sentinel://`). */
  readonly sentinel?: RedisOptions
  readonly prefix?: string
  readonly leaseMs?: number
}

/** The adapter's own query parameters, taken out of `query`. */
function adapterParams(query: URLSearchParams): { prefix?: string; leaseMs?: number } {
  const prefix = query.get('prefix') ?? undefined
  const lease = query.get('leaseMs')
  query.delete('prefix')
  query.delete('leaseMs')
  return { ...(prefix !== undefined ? { prefix } : {}), ...(lease !== null ? { leaseMs: Number(lease) } : {}) }
}

export function splitUrl(url: string): UrlSettings {
  if (url.toLowerCase().startsWith(SENTINEL_PROTOCOL)) {
    const { redis, query } = parseSentinelUrl(url)
    const params = adapterParams(query)
    const unknown = [...query.keys()]
    if (unknown.length > 0) {
      throw new InvalidOptionsError(
        `[redis] a redis+sentinel:// URL takes only prefix and leaseMs, got ${unknown.join(', ')}; pass other ioredis settings as redis options`,
      )
    }
    return { sentinel: redis, ...params }
  }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new InvalidOptionsError(
      `[redis] not a URL: ${redactUrl(url)} (percent-encode characters such as / ? # @ in a password: %2F %3F %23 %40)`,
    )
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new InvalidOptionsError(
      `[redis] URL must start with redis://, rediss:// or redis+sentinel://, got ${parsed.protocol}//`,
    )
  }
  const params = adapterParams(parsed.searchParams)
  return { url: parsed.toString(), ...params }
}

/**
 * Open (lazily) the main command connection. Auto-pipelining batches the single commands of concurrent callers
 * (publishes, acks) into one write without changing their order.
 */
export function openClient(options: RedisConnectionOptions, connectionName: string): OwnedClient {
  const given = [options.url, options.redis, options.cluster, options.client].filter((x) => x !== undefined)
  if (given.length > 1) {
    throw new InvalidOptionsError('[redis] pass only one of url, redis, cluster or client')
  }
  if (options.client !== undefined) return { client: options.client, owned: false }
  const common: RedisOptions = { lazyConnect: true, enableAutoPipelining: true, connectionName }
  if (options.cluster !== undefined) {
    const client = new Cluster([...options.cluster.nodes], {
      lazyConnect: true,
      enableAutoPipelining: true,
      ...options.cluster.options,
      redisOptions: { connectionName, ...options.cluster.options?.redisOptions },
    })
    return { client: refuseAfterEnd(client), owned: true }
  }
  if (options.url !== undefined) {
    const { url, sentinel } = splitUrl(options.url)
    return { client: sentinel ? new Redis({ ...common, ...sentinel }) : new Redis(url!, common), owned: true }
  }
  return { client: new Redis({ ...common, ...options.redis }), owned: true }
}

/**
 * The server(s) the options reach, as host:port only (never credentials), naming them in outage reports: the parts
 * of an app built on the same server report one outage together.
 */
export function serverName(options: RedisConnectionOptions): string {
  const hostPort = (host: string | undefined, port: number | string | undefined) =>
    `${host ?? '127.0.0.1'}:${port ?? 6379}`
  const viaSentinels = (redis: RedisOptions) =>
    `${redis.name ?? 'master'} via Sentinels ${(redis.sentinels ?? []).map((s) => hostPort(s.host, s.port)).join(',')}`
  if (options.url !== undefined) {
    try {
      const { sentinel } = splitUrl(options.url)
      if (sentinel !== undefined) return viaSentinels(sentinel)
      const url = new URL(options.url)
      return hostPort(url.hostname || undefined, url.port || undefined)
    } catch {
      return 'Redis'
    }
  }
  if (options.redis?.sentinels !== undefined) return viaSentinels(options.redis)
  if (options.redis !== undefined) return options.redis.path ?? hostPort(options.redis.host, options.redis.port)
  if (options.cluster !== undefined) {
    return options.cluster.nodes
      .map((node) => (typeof node === 'object' ? hostPort(node.host, node.port) : hostPort(undefined, node)))
      .join(',')
  }
  if (options.client instanceof Redis) return hostPort(options.client.options.host, options.client.options.port)
  if (options.client !== undefined) return 'Redis cluster'
  return hostPort(undefined, undefined)
}

/** A second connection to the same server(s), for blocking reads or pub/sub, always owned by the adapter. */
export function duplicateClient(client: RedisClient, connectionName: string): RedisClient {
  if (client instanceof Cluster) {
    return refuseAfterEnd(
      client.duplicate(undefined, {
        lazyConnect: true,
        enableAutoPipelining: false,
        redisOptions: { ...client.options.redisOptions, connectionName },
      }),
    )
  }
  return client.duplicate({ lazyConnect: true, enableAutoPipelining: false, connectionName })
}

const SENTINELS_DOWN = /All sentinels are unreachable/

const AUTH_FAILED = /WRONGPASS|NOAUTH|invalid password|invalid username-password|authentication required/i

/**
 * Connect a lazily created client once; later calls are no-ops. A refused password says so: ioredis reports it as an
 * `error` event and then rejects the connect with a bare "Connection is closed".
 */
export async function ensureConnected(client: RedisClient): Promise<void> {
  if (client.status !== 'wait') return
  let reported: unknown
  const remember = (error: unknown) => {
    reported ??= error
  }
  // ioredis retries unreachable Sentinels forever inside connect(), only emitting errors: fail like a refused server.
  let sentinelsDown: ((error: Error) => void) | undefined
  const onSentinelError = (error: Error) => {
    if (SENTINELS_DOWN.test(error?.message ?? '')) sentinelsDown?.(error)
  }
  client.on('error', remember)
  client.on('error', onSentinelError)
  try {
    await Promise.race([
      client.connect(),
      new Promise<never>((_, reject) => {
        sentinelsDown = reject
      }),
    ])
  } catch (error) {
    const why = (reported as Error | undefined)?.message ?? ''
    if (AUTH_FAILED.test(why) || AUTH_FAILED.test((error as Error)?.message ?? '')) {
      throw new NotConnectedError(
        `[conveyor] [redis] authentication failed (${redactSecrets(why.split('\n')[0] ?? '')}); check the user and password of the URL or options`,
        { cause: redactError(reported ?? error) },
      )
    }
    throw new NotConnectedError(
      `[conveyor] [redis] cannot reach Redis (${redactSecrets(String((error as Error)?.message))}); is redis-server running and the URL right?`,
      { cause: redactError(error) },
    )
  } finally {
    client.off('error', remember)
    client.off('error', onSentinelError)
  }
}

/** Close a client the adapter owns: politely when it is up, at once otherwise. */
export async function closeClient(client: RedisClient): Promise<void> {
  if (client.status === 'end') return
  if (client.status === 'ready') {
    try {
      await client.quit()
      return
    } catch {
      // fall through: the connection is already going away
    }
  }
  client.disconnect()
}

/** Only the connection settings of some options, for the parts that open their own (event stream, history). */
export function connectionOf(options: RedisConnectionOptions): RedisConnectionOptions {
  const { url, redis, cluster, client } = options
  if (url !== undefined) return { url }
  if (redis !== undefined) return { redis }
  if (cluster !== undefined) return { cluster }
  return client !== undefined ? { client } : {}
}
