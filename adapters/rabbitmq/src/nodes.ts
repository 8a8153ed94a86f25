import { InvalidOptionsError } from '@conveyor/core'
import { redactUrl } from '@conveyor/core/adapter'
import type { Options } from 'amqplib'

/**
 * Where to connect: one node (`amqp://user:pass@host:5672/vhost` or amqplib's connect object), a list of the nodes of
 * a cluster, or one URL string naming several hosts separated by commas
 * (`amqp://user:pass@node1:5672,node2:5672,node3:5672/vhost`, for configuration that holds a single string). With
 * several nodes the connection goes to the first and, whenever a connection is lost or an attempt fails, the next
 * attempt goes to the next node in the list.
 */
export type RabbitMQUrl = string | Options.Connect | readonly (string | Options.Connect)[]

/**
 * AMQP heartbeat, in seconds, when the URL sets none: both sides send a frame every few seconds, and a peer silent
 * for two intervals is taken as lost. RabbitMQ's own default (60 s) lets a frozen or partitioned node go unnoticed
 * for two minutes; at 5 s a lost node is noticed in 10–15 s. RabbitMQ advises against values below 5 s.
 */
export const DEFAULT_HEARTBEAT_SECONDS = 5

const HOSTS = /^(amqps?:\/\/)([^@/?#]*@)?([^/?#]*)(.*)$/i

/** `amqp://u:p@a:1,b:2/vh?x` → `amqp://u:p@a:1/vh?x`, `amqp://u:p@b:2/vh?x`; a one-host URL is returned as is. */
export function splitHosts(url: string): string[] {
  const match = HOSTS.exec(url)
  if (match === null || !match[3]!.includes(',')) return [url]
  const [, scheme, auth = '', hosts, rest] = match
  return hosts!.split(',').map((host) => `${scheme}${auth}${host.trim()}${rest}`)
}

/** Every node address of a `url` option, each a single host, in the order given. */
export function nodeAddresses(url: RabbitMQUrl): (string | Options.Connect)[] {
  const list = typeof url === 'string' ? [url] : Array.isArray(url) ? url : [url as Options.Connect]
  const nodes = list.flatMap((node) => (typeof node === 'string' ? splitHosts(node) : [node]))
  if (nodes.length === 0) throw new InvalidOptionsError('[rabbitmq] `url` lists no node')
  return nodes
}

/** A string URL as amqplib's connect object (amqplib reads both the same way), with our default heartbeat. */
export function toConnectObject(url: string | Options.Connect): Options.Connect {
  if (typeof url !== 'string') return { heartbeat: DEFAULT_HEARTBEAT_SECONDS, ...url }
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new InvalidOptionsError(`[rabbitmq] not a URL: ${redactUrl(url)}`)
  }
  const query = parsed.searchParams
  const int = (name: string) => (query.has(name) ? Number.parseInt(query.get(name)!, 10) : undefined)
  const anyCredentials = parsed.username !== '' || parsed.password !== ''
  const connect: Options.Connect = {
    protocol: parsed.protocol.replace(/:$/, ''),
    hostname: parsed.hostname.replace(/^\[|\]$/g, ''),
    // amqplib unescapes the vhost itself (`%2F` is `/`), so it gets the path still escaped.
    vhost: parsed.pathname.slice(1) || '/',
    heartbeat: int('heartbeat') ?? DEFAULT_HEARTBEAT_SECONDS,
  }
  if (parsed.port !== '') connect.port = Number(parsed.port)
  if (anyCredentials) {
    connect.username = decodeURIComponent(parsed.username)
    connect.password = decodeURIComponent(parsed.password)
  }
  for (const key of ['frameMax', 'maxFrameSize', 'channelMax'] as const) {
    const value = int(key)
    if (value !== undefined) connect[key] = value
  }
  const locale = query.get('locale')
  if (locale !== null) connect.locale = locale
  return connect
}

/** `host:port` of a node, for logs (never its credentials). */
export const describeNode = (node: Options.Connect): string =>
  `${node.hostname ?? 'localhost'}:${node.port ?? (node.protocol === 'amqps' ? 5671 : 5672)}`

/**
 * The node list behind one connection. amqplib's recovery reconnects to the `url` value it was handed and reads that
 * value's fields afresh on every attempt; `target` is an object whose fields read the current node, so moving
 * `current` on (after a failed attempt or a lost connection) makes the next attempt go to the next node.
 */
export class NodeRotation {
  private index = 0
  readonly target: Options.Connect

  constructor(private readonly nodes: readonly Options.Connect[]) {
    const field = <K extends keyof Options.Connect>(key: K) => ({
      enumerable: true,
      get: () => this.current[key],
    })
    const keys: (keyof Options.Connect)[] = [
      'protocol',
      'hostname',
      'port',
      'username',
      'password',
      'vhost',
      'heartbeat',
      'frameMax',
      'maxFrameSize',
      'channelMax',
      'locale',
    ]
    this.target = Object.defineProperties({}, Object.fromEntries(keys.map((key) => [key, field(key)])))
  }

  get current(): Options.Connect {
    return this.nodes[this.index]!
  }

  get size(): number {
    return this.nodes.length
  }

  /** The next attempt goes to the next node (wrapping around). */
  advance(): void {
    this.index = (this.index + 1) % this.nodes.length
  }
}
