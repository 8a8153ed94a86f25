import { InvalidOptionsError, NotConnectedError } from '@conveyor/core'
import { duplicateClient, openClient, serverName, splitUrl } from './connection'
import type { Consumer } from './consumer'
import { CONFIRMED_SCRIPTS, checkDurability, runConfirmed } from './durability'
import { type QueueKeys, queueKeys } from './keys'
import { LeaseKeeper } from './leases'
import { OutageReporter, resolveLogger } from './logger'
import type { RedisBrokerOptions, RedisClient } from './options'
import { type BrokerShared, QueueRuntime } from './runtime'
import { runScript } from './scripts'

// A dead worker's deliveries are back within about this long plus one fetch: under the 10 s the docs promise.
const DEFAULT_LEASE_MS = 8_000
/**
 * Largest `maxBatch`. One fetch is one script call, which blocks the server for all its messages; past about 1 000 a
 * larger batch saves little and stalls every other client longer.
 */
const MAX_BATCH = 1000
/**
 * Largest `maxBlockMs`, an hour: longer only delays noticing a due delay or an expired lease nobody announced, and
 * past about 24 days the timer that detects an unanswered BLPOP overflows and fires at once.
 */
const MAX_BLOCK_MS = 3_600_000

/** The broker options with their defaults applied and checked. */
export interface BrokerSettings {
  readonly prefix: string
  readonly leaseMs: number
  readonly maxMessageBytes: number
  readonly maxBlockMs: number
  readonly maxBatch: number
}

/**
 * What the parts of one broker (publish, consume, queues, lifecycle) share: the connection, the queues this instance
 * touched and the consumers it runs. `status` is the only field that changes after creation.
 */
export interface BrokerState {
  readonly settings: BrokerSettings
  readonly client: RedisClient
  /** The client was created here (not passed in by the user), so the broker closes it. */
  readonly owned: boolean
  /** The client's error listener, removed when the broker closes. */
  readonly onError: (error: unknown) => void
  readonly shared: BrokerShared
  readonly runtimes: Map<string, QueueRuntime>
  readonly consumers: Set<Consumer>
  readonly leases: LeaseKeeper
  status: ReturnType<BrokerShared['state']>
  /** The queue's runtime, created on first use. */
  runtime(queue: string): QueueRuntime
  keysOf(queue: string): QueueKeys
  /** Throws `NotConnectedError` once the broker is closed or destroyed. */
  ensureOpen(): void
  /** The connection confirmed writes (`durability`) go on, once one was sent; always the broker's own to close. */
  confirmClient(): RedisClient | undefined
}

export function resolveSettings(options: RedisBrokerOptions): BrokerSettings {
  const fromUrl = options.url !== undefined ? splitUrl(options.url) : undefined
  const prefix = options.prefix ?? fromUrl?.prefix ?? 'conveyor'
  const leaseMs = options.leaseMs ?? fromUrl?.leaseMs ?? DEFAULT_LEASE_MS
  const maxMessageBytes = options.maxMessageBytes ?? 16 * 1024 * 1024
  const maxBlockMs = options.maxBlockMs ?? 5_000
  const maxBatch = options.maxBatch ?? 256
  if (!(Number.isFinite(leaseMs) && leaseMs >= 50)) {
    throw new InvalidOptionsError(`[redis] leaseMs must be a number ≥ 50, got ${leaseMs}`)
  }
  if (!(Number.isInteger(maxBatch) && maxBatch >= 1 && maxBatch <= MAX_BATCH)) {
    throw new InvalidOptionsError(`[redis] maxBatch must be an integer from 1 to ${MAX_BATCH}, got ${maxBatch}`)
  }
  // A consumer blocks with BLPOP for this long (in seconds, three decimals): under 1 ms that is BLPOP 0, which blocks
  // until a publish (due delays and expired leases waited for it), and NaN failed every block at once.
  if (!(maxBlockMs >= 1 && maxBlockMs <= MAX_BLOCK_MS)) {
    throw new InvalidOptionsError(`[redis] maxBlockMs must be a number from 1 to ${MAX_BLOCK_MS}, got ${maxBlockMs}`)
  }
  if (!(Number.isInteger(maxMessageBytes) && maxMessageBytes >= 1)) {
    throw new InvalidOptionsError(`[redis] maxMessageBytes must be an integer ≥ 1, got ${maxMessageBytes}`)
  }
  if (prefix === '' || prefix.includes('{') || prefix.includes('}')) {
    throw new InvalidOptionsError(`[redis] prefix must be non-empty without braces, got "${prefix}"`)
  }
  return { prefix, leaseMs, maxMessageBytes, maxBlockMs, maxBatch }
}

/** Check the options, open (or adopt) the client and build the state every part of the broker works on. */
export function createBrokerState(options: RedisBrokerOptions): BrokerState {
  const settings = resolveSettings(options)
  const { prefix, leaseMs } = settings
  const durability = checkDurability(options.durability)
  const logger = resolveLogger(options.logger)
  const { client, owned } = openClient(options, `conveyor:${prefix}`)
  const outage = new OutageReporter(logger, 'broker', serverName(options))
  // Without a listener ioredis prints every connection error; the outage reporter logs one per outage instead.
  const onError = (error: unknown) => outage.failed(error)
  client.on('error', onError)

  const confirm = confirmConnection(client, `conveyor:${prefix}:confirm`, onError, () => state.ensureOpen())

  const runtimes = new Map<string, QueueRuntime>()
  const shared: BrokerShared = {
    client,
    prefix,
    leaseMs,
    outage,
    state: () => state.status,
    durable: durability !== undefined,
    run: (name, keys, args, mode) => {
      if (durability === undefined || !CONFIRMED_SCRIPTS.has(name)) return runScript(client, name, keys, args, mode)
      try {
        return runConfirmed(confirm.client(), name, keys, args, durability)
      } catch (error) {
        return Promise.reject(error)
      }
    },
    stalled: () => {
      outage.failed(new Error('[conveyor] [redis] a fetch got no answer; the connection looks dead'))
      if (owned) client.disconnect(true)
    },
  }

  const runtime = (queue: string): QueueRuntime => {
    let rt = runtimes.get(queue)
    if (rt === undefined) {
      if (typeof queue !== 'string' || queue === '')
        throw new InvalidOptionsError('[redis] queue name must be a non-empty string')
      rt = new QueueRuntime(queue, queueKeys(prefix, queue), shared)
      runtimes.set(queue, rt)
    }
    return rt
  }

  const state: BrokerState = {
    settings,
    client,
    owned,
    onError,
    shared,
    runtimes,
    consumers: new Set(),
    leases: new LeaseKeeper(shared, runtimes),
    status: 'open',
    runtime,
    keysOf: (queue) => runtime(queue).keys,
    ensureOpen: () => {
      if (state.status === 'closed' || state.status === 'destroyed') {
        throw new NotConnectedError(`[conveyor] [redis] broker is ${state.status}; create a new one`)
      }
    },
    confirmClient: confirm.made,
  }
  return state
}

/**
 * The connection confirmed writes go on. Their own: WAIT blocks the connection it is sent on until replicas answer or
 * its timeout ends, and while a new master has no replica yet every one of them waits the full timeout. On the shared
 * connection, fetches and lease extensions queued behind those WAITs, consumers crawled and leases of deliveries whose
 * acks were stuck ran out (hundreds of duplicates in a Sentinel failover, resume after 10-14 s). WAIT counts the
 * writes of its own connection, and the script it confirms is sent on the same one, so the guarantee is the same.
 * Made on first use, after `ensureOpen`: a write still queued when the broker was destroyed (a publish batch waiting
 * for the end of its tick) must not open a connection nobody closes, nor land after the caller was told it is gone.
 */
function confirmConnection(
  client: RedisClient,
  name: string,
  onError: (error: unknown) => void,
  ensureOpen: () => void,
): { client(): RedisClient; made(): RedisClient | undefined } {
  let made: RedisClient | undefined
  return {
    client() {
      if (made === undefined) {
        ensureOpen()
        made = duplicateClient(client, name)
        made.on('error', onError)
      }
      return made
    },
    made: () => made,
  }
}
