import { InvalidOptionsError } from '@conveyor/core'
import type { QueueSpec } from '@conveyor/core/adapter'
import type { Channel, ChannelModel } from 'amqplib'
import type { Connection } from './connection'
import { type QueueNames, queueNames } from './names'
import type { RabbitMQQueueType, ResolvedOptions } from './options'
import { catalogName, QueueCatalog } from './queue-catalog'

interface Known {
  readonly type: RabbitMQQueueType
  readonly names: QueueNames
  /**
   * `<work>.dead` found classic next to a quorum work queue (declared by a version before dead-letter queues followed
   * the work queue's type): kept as it is, never re-declared quorum.
   */
  classicDead?: boolean
  /** Settles once the queues exist on the server (for this connection's lifetime, as far as we know). */
  declared?: Promise<void>
}

type QueueArguments = Record<string, string | number>

/** AMQP error carrying the reply code the server closed the channel with. */
const replyCode = (error: unknown): number | undefined => (error as { code?: unknown }).code as number | undefined

/**
 * The queues behind each logical queue — the work queue, one TTL queue per delay level dead-lettering back to it, and
 * `<work>.dead` — declared idempotently, remembered, and re-declared on every reconnection.
 */
export class Topology {
  private readonly known = new Map<string, Known>()
  /** Queues whose declaration settled successfully: the publish fast path checks this without awaiting. */
  private readonly ready = new Set<string>()
  private channel: Promise<Channel> | undefined
  /** Every logical queue declared under the prefix, by any process: what `listQueues` reads. */
  readonly catalog: QueueCatalog

  constructor(
    private readonly connection: Connection,
    private readonly options: ResolvedOptions,
  ) {
    this.catalog = new QueueCatalog(connection, catalogName(options.prefix), options.publishTimeoutMs)
  }

  names(queue: string): QueueNames {
    return this.known.get(queue)?.names ?? queueNames(this.options.prefix, queue, this.options.delayLevels)
  }

  typeOf(queue: string): RabbitMQQueueType {
    return this.known.get(queue)?.type ?? this.options.queueType
  }

  /** Explicit declaration (`Broker.declare`). */
  async declare(spec: QueueSpec): Promise<void> {
    const extra = Object.keys(spec.arguments ?? {})
    if (extra.length > 0) {
      throw new InvalidOptionsError(`[rabbitmq] queue "${spec.name}": unknown arguments ${extra.join(', ')}`)
    }
    const type = spec.type ?? this.options.queueType
    if (type !== 'classic' && type !== 'quorum') {
      throw new InvalidOptionsError(
        `[rabbitmq] queue "${spec.name}": type must be "classic" or "quorum", got "${type}"`,
      )
    }
    const previous = this.known.get(spec.name)
    if (previous?.type === type && previous.declared) return previous.declared
    const entry: Known = { type, names: this.names(spec.name) }
    this.known.set(spec.name, entry)
    this.ready.delete(spec.name)
    entry.declared = this.assertAll(entry).then(() => this.catalog.add(spec.name))
    entry.declared.then(
      () => {
        if (this.known.get(spec.name) === entry && entry.declared !== undefined) this.ready.add(spec.name)
      },
      () => {
        if (this.known.get(spec.name) === entry) this.known.delete(spec.name)
      },
    )
    return entry.declared
  }

  /** Declare with the defaults unless already known; used before publishing to or consuming from a queue. */
  ensure(queue: string): Promise<void> {
    const entry = this.known.get(queue)
    if (entry?.declared) return entry.declared
    return this.declare({ name: queue, type: entry?.type ?? this.options.queueType })
  }

  /** Whether `<queue>.dead` is a quorum queue (declared so with its quorum work queue). */
  deadIsQuorum(queue: string): boolean {
    const entry = this.known.get(queue)
    return this.typeOf(queue) === 'quorum' && entry?.classicDead !== true
  }

  /** Whether `queue` is known to exist, synchronously. */
  isReady(queue: string): boolean {
    return this.ready.has(queue)
  }

  /** Forget that a queue was declared (it was found missing): the next use declares it again. */
  invalidate(queue: string): void {
    this.ready.delete(queue)
    const entry = this.known.get(queue)
    if (entry) entry.declared = undefined
  }

  /** Known logical queues, for re-declaration. */
  queues(): string[] {
    return [...this.known.keys()]
  }

  /** Re-declare everything known on a fresh connection (amqplib's recovery `setup`). Conflicts are logged, not fatal. */
  async redeclare(model: ChannelModel): Promise<void> {
    this.channel = undefined
    if (this.known.size === 0) return
    const channel = await model.createChannel()
    channel.on('error', () => {})
    try {
      for (const [name, entry] of this.known) {
        try {
          await this.assertOn(channel, entry)
        } catch (error) {
          this.options.logger.error({ err: error, queue: name }, '[conveyor] [rabbitmq] re-declaring a queue failed')
          return
        }
      }
    } finally {
      await channel.close().catch(() => {})
    }
  }

  /** Run `fn` on the shared topology channel, reopening it if a previous failure closed it. */
  async withChannel<T>(fn: (channel: Channel) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.options.publishTimeoutMs
    if (this.channel === undefined) {
      const opening = this.connection.channel(deadline).then((channel) => {
        channel.on('error', () => {})
        channel.on('close', () => {
          if (this.channel === opening) this.channel = undefined
        })
        return channel
      })
      this.channel = opening
      opening.catch(() => {
        if (this.channel === opening) this.channel = undefined
      })
    }
    return fn(await this.channel)
  }

  private assertAll(entry: Known): Promise<void> {
    return this.withChannel((channel) => this.assertOn(channel, entry))
  }

  private async assertOn(channel: Channel, entry: Known): Promise<void> {
    const { names, type } = entry
    const work = this.workArguments(entry)
    await this.assertQueue(channel, names.work, work)
    await Promise.all(
      names.delays.map((level) =>
        this.assertQueue(channel, level.name, {
          ...(type === 'quorum' ? { 'x-queue-type': 'quorum' } : {}),
          'x-message-ttl': level.ms,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': names.work,
        }),
      ),
    )
    // Last: a conflict here closes the channel, and nothing else of this queue is left to declare on it.
    await this.assertDead(channel, entry)
  }

  /** `<work>.dead` with the work queue's replication: a quorum work queue's dead letters survive a node loss too. */
  private async assertDead(channel: Channel, entry: Known): Promise<void> {
    const { names } = entry
    if (entry.type !== 'quorum' || entry.classicDead) return this.assertQueue(channel, names.dead, {})
    try {
      await channel.assertQueue(names.dead, { durable: true, arguments: { 'x-queue-type': 'quorum' } })
    } catch (error) {
      if (replyCode(error) !== 406) throw error
      entry.classicDead = true
      this.options.logger.warn(
        { queue: names.dead },
        `[conveyor] [rabbitmq] "${names.dead}" exists as a classic queue next to the quorum queue "${names.work}"; ` +
          'kept as it is (its dead letters live on one node). Empty and delete it to have it re-created as quorum.',
      )
    }
  }

  private workArguments({ type, names }: Known): QueueArguments {
    if (type === 'classic') {
      // x-max-priority 9 would do for 0–9, but queues declared before the option existed have 10: keep them valid.
      const { priorityLevels } = this.options
      return priorityLevels >= 10
        ? { 'x-max-priority': 10 }
        : priorityLevels > 1
          ? { 'x-max-priority': priorityLevels - 1 }
          : {}
    }
    const { maxDeliveries } = this.options
    if (maxDeliveries === undefined) return { 'x-queue-type': 'quorum' }
    // The server dead-letters a message returned more than maxDeliveries times straight into <work>.dead.
    return {
      'x-queue-type': 'quorum',
      'x-delivery-limit': maxDeliveries,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': names.dead,
    }
  }

  private async assertQueue(channel: Channel, name: string, args: QueueArguments): Promise<void> {
    try {
      await channel.assertQueue(name, { durable: true, arguments: args })
    } catch (error) {
      if (replyCode(error) === 406) {
        const wanted = Object.keys(args).length > 0 ? JSON.stringify(args) : 'no arguments'
        throw new InvalidOptionsError(
          `[rabbitmq] queue "${name}" already exists with other settings than declared (${wanted}); ` +
            `delete it or declare it the same way. Server said: ${(error as Error).message}`,
          { cause: error },
        )
      }
      throw error
    }
  }
}
