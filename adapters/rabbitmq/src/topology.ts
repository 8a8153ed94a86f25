import { InvalidOptionsError } from '@conveyor/core'
import type { QueueSpec } from '@conveyor/core/adapter'
import type { Channel, ChannelModel } from 'amqplib'
import type { Connection } from './connection'
import { delayPolicyCommand, delayQueueArguments, legacyDelayQueueArguments } from './delay-queues'
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
  /**
   * Quorum delay queues found declared without at-least-once dead-lettering (by a version before it): kept with their
   * arguments, which cannot change; a policy gives them the strategy (the warning names it).
   */
  legacyDelays?: Set<string>
  /** Settles once the queues exist on the server (for this connection's lifetime, as far as we know). */
  declared?: Promise<void>
}

type QueueArguments = Record<string, string | number>

/** AMQP error carrying the reply code the server closed the channel with. */
const replyCode = (error: unknown): number | undefined => (error as { code?: unknown }).code as number | undefined

/** A delay queue refused the new arguments: the declaration starts over on a fresh channel with its old ones. */
class LegacyDelayQueueFound extends Error {}

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

  private async assertAll(entry: Known): Promise<void> {
    // Each legacy delay queue found closes the channel (PRECONDITION_FAILED): at most one more attempt per level.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.withChannel((channel) => this.assertOn(channel, entry))
        if (entry.legacyDelays !== undefined) this.warnLegacyDelays(entry)
        return
      } catch (error) {
        if (!(error instanceof LegacyDelayQueueFound) || attempt >= entry.names.delays.length) throw error
      }
    }
  }

  private async assertOn(channel: Channel, entry: Known): Promise<void> {
    const { names } = entry
    const work = this.workArguments(entry)
    await this.assertQueue(channel, names.work, work)
    await this.assertDelays(channel, entry)
    // Last: a conflict here closes the channel, and nothing else of this queue is left to declare on it.
    await this.assertDead(channel, entry)
  }

  /**
   * The delay levels, in parallel. A quorum delay queue declared before dead-lettering became at-least-once refuses
   * the new arguments and closes the channel: it is remembered as legacy (declared with its old arguments from then
   * on, with a warning) and the caller starts over on a fresh channel.
   */
  private async assertDelays(channel: Channel, entry: Known): Promise<void> {
    const { names, type } = entry
    const settled = await Promise.allSettled(
      names.delays.map(async (level) => {
        const legacy = entry.legacyDelays?.has(level.name) === true
        const args = legacy
          ? legacyDelayQueueArguments(names.work, level.ms)
          : delayQueueArguments(type, names.work, level.ms)
        try {
          await channel.assertQueue(level.name, { durable: true, arguments: args })
          return false
        } catch (error) {
          if (type !== 'quorum' || legacy || replyCode(error) !== 406) this.conflict(error, level.name, args)
          entry.legacyDelays ??= new Set()
          entry.legacyDelays.add(level.name)
          return true
        }
      }),
    )
    const refused = settled.some((result) => result.status === 'fulfilled' && result.value)
    if (refused) throw new LegacyDelayQueueFound(`[rabbitmq] legacy delay queue of "${names.work}"`)
    const failures = settled.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []))
    // The declaration that closed the channel says why; the others only saw it close.
    if (failures.length > 0) throw failures.find((error) => error instanceof InvalidOptionsError) ?? failures[0]
  }

  private warnLegacyDelays({ names, legacyDelays }: Known): void {
    this.options.logger.warn(
      { queue: names.work, delayQueues: [...(legacyDelays ?? [])] },
      `[conveyor] [rabbitmq] delay queues of "${names.work}" were declared by an earlier Conveyor without ` +
        'at-least-once dead-lettering (a delayed job moving to the work queue while its leader dies can be lost); ' +
        'kept as they are, since queue arguments cannot change. Give them the strategy with a policy: ' +
        `${delayPolicyCommand(this.options.prefix)} (docs/clusters.md)`,
    )
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
      if (replyCode(error) === 406) this.conflict(error, name, args)
      throw error
    }
  }

  /** A PRECONDITION_FAILED becomes an `InvalidOptionsError` that says what was declared; other errors pass. */
  private conflict(error: unknown, name: string, args: QueueArguments): never {
    if (replyCode(error) !== 406) throw error
    const wanted = Object.keys(args).length > 0 ? JSON.stringify(args) : 'no arguments'
    throw new InvalidOptionsError(
      `[rabbitmq] queue "${name}" already exists with other settings than declared (${wanted}); ` +
        `delete it or declare it the same way. Server said: ${(error as Error).message}`,
      { cause: error },
    )
  }
}
