import { NotConnectedError } from '@conveyor/core'
import { redactError, redactSecrets, withTimeout } from '@conveyor/core/adapter'
import {
  type Channel,
  type ChannelModel,
  type ConfirmChannel,
  connect,
  type RecoveringChannelModel,
  type SocketOptions,
} from 'amqplib'
import { describeNode, NodeRotation, nodeAddresses, type RabbitMQUrl, toConnectObject } from './nodes'
import type { RabbitMQLogger, RabbitMQReconnectOptions } from './options'
import { outageReport, serverName } from './outage-report'
import { batchSocketWrites } from './write-batching'

/** Where the connection comes from: a URL we own, or a connection the user holds (never closed by us). */
export type ConnectionSource =
  | {
      readonly url: RabbitMQUrl
      readonly socketOptions?: SocketOptions
      readonly reconnect?: RabbitMQReconnectOptions
    }
  | { readonly connection: ChannelModel | RecoveringChannelModel }

/** Where user options say to connect: their connection when they gave one, else `url` with its socket and reconnect options. */
export function connectionSource(options: {
  readonly url?: RabbitMQUrl
  readonly socketOptions?: SocketOptions
  readonly reconnect?: RabbitMQReconnectOptions
  readonly connection?: ChannelModel | RecoveringChannelModel
}): ConnectionSource {
  return options.connection
    ? { connection: options.connection }
    : {
        url: options.url!,
        ...(options.socketOptions ? { socketOptions: options.socketOptions } : {}),
        ...(options.reconnect ? { reconnect: options.reconnect } : {}),
      }
}

interface ConnectionHooks {
  readonly name: string
  /** What the connection is for (`broker`, `result backend`, `event stream`), named in outage reports. */
  readonly part: string
  readonly logger: RabbitMQLogger
  /** Runs on every (re)connection before channels are handed out: re-declares the known topology. */
  readonly setup: (model: ChannelModel) => Promise<void>
}

type Model = ChannelModel | RecoveringChannelModel

/** How long one connection attempt may stay silent (TCP connect and AMQP handshake) before it counts as failed. */
const CONNECT_TIMEOUT_MS = 10_000

const isRecovering = (model: Model): model is RecoveringChannelModel =>
  typeof (model as RecoveringChannelModel).waitForConnect === 'function'

/** The socket under an amqplib connection; amqplib does not type it, and only `destroy()` needs it. */
const socketOf = (model: ChannelModel | undefined): { destroy(error?: Error): void } | undefined =>
  (model as unknown as { connection?: { stream?: { destroy(error?: Error): void } } } | undefined)?.connection?.stream

/**
 * One AMQP connection with amqplib's opt-in recovery (reconnect with backoff, `setup` on each connection). What
 * amqplib does not do — reviving channels and consumers — the publisher and consumers do by asking for a new channel
 * here whenever theirs closes; `channel()` waits (bounded) while the connection is being recovered.
 */
export class Connection {
  private model: Model | undefined
  private opening: Promise<void> | undefined
  /** The live underlying connection, for `destroy()`; absent while recovering. */
  private live: ChannelModel | undefined
  private state: 'idle' | 'open' | 'closed' | 'destroyed' | 'failed' = 'idle'
  private failure: Error | undefined
  private blockedSince: number | undefined
  /** When the connection was lost, while it is: loss and recovery are each reported once per outage. */
  private lostAt: number | undefined
  private unblockWaiters: (() => void)[] = []
  /** The nodes of `url`, the one being tried or used first; undefined for a connection the user passed. */
  private nodes: NodeRotation | undefined
  /** Channels we opened, so `destroy()` on a connection we do not own can still drop them. */
  private readonly channels = new Set<{ close(): Promise<void>; once(event: 'close', fn: () => void): unknown }>()

  constructor(
    private readonly source: ConnectionSource,
    private readonly hooks: ConnectionHooks,
  ) {}

  get usable(): boolean {
    return this.state === 'idle' || this.state === 'open'
  }

  /** The server blocks publishers (resource alarm). */
  get blocked(): boolean {
    return this.blockedSince !== undefined
  }

  get status(): string {
    return this.state
  }

  /** Throw `NotConnectedError` when the broker was closed, destroyed, or recovery gave up. */
  assertUsable(): void {
    if (this.usable) return
    const why = this.state === 'failed' ? `reconnection gave up (${this.failure?.message})` : `broker is ${this.state}`
    throw new NotConnectedError(`[rabbitmq] ${why}`)
  }

  open(): Promise<void> {
    this.assertUsable()
    this.opening ??= this.doOpen().catch((error: unknown) => {
      this.opening = undefined
      throw new NotConnectedError(`[rabbitmq] cannot connect: ${redactSecrets(String((error as Error)?.message))}`, {
        cause: redactError(error),
      })
    })
    return this.opening
  }

  private async doOpen(): Promise<void> {
    if ('connection' in this.source) {
      this.model = this.source.connection
      this.watch(this.model)
      if (!isRecovering(this.model)) {
        this.live = this.model
        batchSocketWrites(this.model)
        await this.hooks.setup(this.model)
      }
      this.state = 'open'
      return
    }
    const { url, socketOptions, reconnect = {} } = this.source
    const log = this.hooks.logger
    const nodes = new NodeRotation(nodeAddresses(url).map(toConnectObject))
    this.nodes = nodes
    const recovering = await connect(nodes.target, {
      // Nagle's algorithm holds small frames (acks, confirms) up to 40 ms; a job queue wants them out at once.
      noDelay: true,
      // A frozen node's kernel still accepts the TCP connection, and the AMQP handshake then waits forever: give up
      // on an attempt that is silent this long, so recovery moves on to the next node.
      timeout: CONNECT_TIMEOUT_MS,
      ...socketOptions,
      clientProperties: { ...socketOptions?.clientProperties, connection_name: this.hooks.name },
      recovery: {
        initialDelay: reconnect.initialDelayMs ?? 100,
        maxDelay: reconnect.maxDelayMs ?? 10_000,
        maxRetries: reconnect.maxRetries ?? Number.POSITIVE_INFINITY,
        // Three attempts per node before the first connection gives up (2 retries with one node).
        initialMaxRetries: reconnect.initialMaxRetries ?? 3 * nodes.size - 1,
        // Listeners go on before the first attempt so its `connect` event is not missed.
        waitForConnect: false,
        setup: async (model: ChannelModel) => {
          // amqplib binds its own `error` listener only after setup: a heartbeat timeout during setup must not crash.
          model.on('error', (error: Error) =>
            log.debug({ err: error }, '[conveyor] [rabbitmq] connection error while setting up'),
          )
          batchSocketWrites(model)
          await this.hooks.setup(model)
        },
      },
    })
    this.model = recovering
    this.watch(recovering)
    try {
      await recovering.waitForConnect()
    } catch (error) {
      // The first connection gave up: forget it, so the next open() starts afresh against a server that may be up.
      if (this.model === recovering) this.model = undefined
      void recovering.close().catch(() => {})
      throw error
    }
    if (this.state === 'idle') this.state = 'open'
  }

  /** Loss and recovery are reported once per outage of the server, shared with the app's other connections to it. */
  private outage(): ReturnType<typeof outageReport> {
    const server = 'url' in this.source ? serverName(this.source.url) : 'RabbitMQ'
    return outageReport(this.hooks.logger, server)
  }

  private watch(model: Model): void {
    const log = this.hooks.logger
    // Without an `error` listener an emitter's error would crash the process; errors also arrive as `close`.
    // During an outage every failed reconnect errors again: the outage was reported once already.
    model.on('error', (error: Error) =>
      (this.lostAt === undefined ? log.warn : log.debug).call(
        log,
        { err: error },
        '[conveyor] [rabbitmq] connection error',
      ),
    )
    model.on('blocked', (reason: string) => {
      this.blockedSince = Date.now()
      log.warn({ reason }, '[conveyor] [rabbitmq] connection blocked by the server; publishes wait')
    })
    model.on('unblocked', () => {
      this.blockedSince = undefined
      for (const wake of this.unblockWaiters.splice(0)) wake()
    })
    if (isRecovering(model)) {
      model.on('connect', (live: ChannelModel) => {
        this.live = live
        batchSocketWrites(live)
        const node = this.nodes === undefined ? undefined : describeNode(this.nodes.current)
        if (this.lostAt === undefined) {
          log.debug({ name: this.hooks.name, node }, '[conveyor] [rabbitmq] connected')
          return
        }
        this.lostAt = undefined
        this.outage().back(this.hooks.name)
      })
      // A failed attempt or a lost connection sends the next attempt to the next node of a cluster: these events
      // come before amqplib schedules that attempt.
      model.on('connect-failed', () => this.nodes?.advance())
      model.on('disconnect', (error: Error) => {
        this.nodes?.advance()
        this.live = undefined
        this.blockedSince = undefined
        for (const wake of this.unblockWaiters.splice(0)) wake()
        if (this.lostAt !== undefined) return
        this.lostAt = Date.now()
        this.outage().lost(this.hooks.part, this.hooks.name, error)
      })
      model.on('reconnect-failed', (error: Error) => {
        // amqplib says this for the first connection too: that one is not final, its open() rejects and the next
        // open() tries again. Only a connection that was open and could not be recovered has failed for good.
        if (this.state !== 'open') return
        this.state = 'failed'
        this.failure = error
        log.error({ err: error }, '[conveyor] [rabbitmq] reconnection gave up')
      })
    } else {
      model.on('close', () => {
        this.live = undefined
        if (this.usable) {
          this.state = 'failed'
          this.failure = new Error('the connection given to the broker closed')
        }
      })
    }
  }

  /** A new plain channel, waiting up to `deadline` for the connection. */
  async channel(deadline?: number): Promise<Channel> {
    return this.withModel((model) => model.createChannel(), deadline)
  }

  async confirmChannel(deadline?: number): Promise<ConfirmChannel> {
    return this.withModel((model) => model.createConfirmChannel(), deadline)
  }

  private async withModel<T>(create: (model: Model) => Promise<T>, deadline?: number): Promise<T> {
    await this.open()
    this.assertUsable()
    const model = this.model!
    const made = create(model).then((channel) => {
      const tracked = channel as unknown as { close(): Promise<void>; once(event: 'close', fn: () => void): unknown }
      this.channels.add(tracked)
      tracked.once('close', () => this.channels.delete(tracked))
      return channel
    })
    if (deadline === undefined) return await made.catch(this.notConnected)
    return await withDeadline(made, deadline, 'no connection to RabbitMQ').catch((error: unknown) => {
      // A channel that opens after we gave up would leak: close it when it comes.
      made.then((late) => (late as { close?: () => Promise<void> }).close?.().catch(() => {})).catch(() => {})
      return this.notConnected(error)
    })
  }

  private readonly notConnected = (error: unknown): never => {
    if (error instanceof NotConnectedError) throw error
    this.assertUsable()
    throw new NotConnectedError(`[rabbitmq] cannot open a channel: ${(error as Error).message}`, { cause: error })
  }

  /** Resolve when the server is not blocking publishers (resource alarm), or reject at `deadline`. */
  async unblocked(deadline: number): Promise<void> {
    if (this.blockedSince === undefined) return
    const wait = new Promise<void>((resolve) => this.unblockWaiters.push(resolve))
    await withDeadline(wait, deadline, 'the server blocks publishers (resource alarm)')
  }

  /** Graceful: close the connection if it is ours. */
  async close(): Promise<void> {
    if (!this.usable) return
    this.state = 'closed'
    const model = this.model
    if (model === undefined || 'connection' in this.source) return
    await model.close().catch(() => {})
  }

  /** Crash: drop the socket without any closing handshake, and stop recovering. */
  destroy(): void {
    if (this.state === 'destroyed') return
    const owned = !('connection' in this.source)
    this.state = 'destroyed'
    if (!owned) {
      // Not our connection to drop: close our channels instead, unsettled, so RabbitMQ requeues their deliveries.
      for (const channel of this.channels) void channel.close().catch(() => {})
      return
    }
    socketOf(this.live)?.destroy(new Error('[conveyor] [rabbitmq] destroyed'))
    void this.model?.close().catch(() => {})
  }

  /** Test hook: drop the socket as a network failure would (recovery then reconnects). */
  killSocket(): boolean {
    const socket = socketOf(this.live)
    socket?.destroy(new Error('[conveyor] [rabbitmq] socket killed'))
    return socket !== undefined
  }
}

/** Race a promise against an absolute deadline; rejects with `NotConnectedError` naming what was awaited. */
export function withDeadline<T>(promise: Promise<T>, deadline: number, what: string): Promise<T> {
  const left = deadline - Date.now()
  if (left <= 0) {
    promise.catch(() => {})
    return Promise.reject(new NotConnectedError(`[rabbitmq] timed out: ${what}`))
  }
  return withTimeout(promise, left, () => new NotConnectedError(`[rabbitmq] timed out after ${left} ms: ${what}`))
}
