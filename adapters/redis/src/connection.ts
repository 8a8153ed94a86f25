import { InvalidOptionsError, NotConnectedError, redactError, redactSecrets, redactUrl } from '@conveyor/core'
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import type { RedisClient, RedisConnectionOptions } from './options'

/** A client plus whether the adapter created it (and so must close it). */
export interface OwnedClient {
  readonly client: RedisClient
  readonly owned: boolean
}

/** Adapter settings carried in a URL's query string, removed before ioredis sees the URL. */
export interface UrlSettings {
  readonly url: string
  readonly prefix?: string
  readonly leaseMs?: number
}

export function splitUrl(url: string): UrlSettings {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new InvalidOptionsError(`[redis] not a URL: ${redactUrl(url)}`)
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new InvalidOptionsError(`[redis] URL must start with redis:// or rediss://, got ${parsed.protocol}//`)
  }
  const prefix = parsed.searchParams.get('prefix') ?? undefined
  const lease = parsed.searchParams.get('leaseMs')
  parsed.searchParams.delete('prefix')
  parsed.searchParams.delete('leaseMs')
  const leaseMs = lease === null ? undefined : Number(lease)
  return {
    url: parsed.toString(),
    ...(prefix !== undefined ? { prefix } : {}),
    ...(leaseMs !== undefined ? { leaseMs } : {}),
  }
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
    return { client, owned: true }
  }
  if (options.url !== undefined) {
    return { client: new Redis(splitUrl(options.url).url, common), owned: true }
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
  if (options.url !== undefined) {
    try {
      const url = new URL(options.url)
      return hostPort(url.hostname || undefined, url.port || undefined)
    } catch {
      return 'Redis'
    }
  }
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
    return client.duplicate(undefined, {
      lazyConnect: true,
      enableAutoPipelining: false,
      redisOptions: { ...client.options.redisOptions, connectionName },
    })
  }
  return client.duplicate({ lazyConnect: true, enableAutoPipelining: false, connectionName })
}

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
  client.on('error', remember)
  try {
    await client.connect()
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
