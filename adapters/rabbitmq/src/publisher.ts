import { NotConnectedError, PayloadTooLargeError } from '@conveyor/core'
import { sleep } from '@conveyor/core/adapter'
import type { ConfirmChannel, Message } from 'amqplib'
import { type Connection, withDeadline } from './connection'
import { PublishNackedError } from './errors/publish-nacked-error'
import { UnroutableError } from './errors/unroutable-error'
import type { ResolvedOptions } from './options'

/** What the adapter sets on a message; everything else is fixed (persistent, mandatory). */
export interface MessageProperties {
  /** AMQP priority; undefined on plain queues (no property sent). */
  readonly priority: number | undefined
  /** Absent for bytes without an envelope id: the publisher then makes one up to match returns. */
  readonly messageId: string | undefined
  readonly headers: Readonly<Record<string, string | number>> | undefined
  /** AMQP `timestamp` (seconds): when the message is ready to run, read back as the management API's head age. */
  readonly timestamp?: number | undefined
}

/** One message of a batch: its target queue, bytes and properties. */
export interface Outgoing {
  readonly queue: string
  readonly content: Buffer
  readonly properties: MessageProperties
}

/** The channel died before the confirm came: the message may or may not be on the queue. */
class ChannelLost extends Error {}

interface PublisherChannel {
  readonly channel: ConfirmChannel
  /** amqplib's write buffer is over its high-water mark: wait for `drain` before writing more. */
  full: boolean
  closed: boolean
  readonly wake: Set<() => void>
}

/**
 * Publishing through one confirm channel. `publish` resolves only on the broker's confirm; a `mandatory` message the
 * broker returns rejects with `UnroutableError`; a nack rejects with `PublishNackedError`. Back-pressure: after
 * amqplib reports a full write buffer, publishers wait for `drain` (and for `unblocked` when the server blocks the
 * connection) instead of buffering without bound. If the channel dies before the confirm, the message is published
 * again on a new channel until `publishTimeoutMs` — a duplicate at worst, never a loss reported as success.
 */
export class Publisher {
  private current: Promise<PublisherChannel> | undefined
  /** The open channel, for the fast path that publishes without any await. */
  private ready: PublisherChannel | undefined
  private readonly returned = new Set<string>()
  private seq = 0
  /** Publishes waiting for their confirm, swept by one timer instead of one timer per publish. */
  private readonly awaiting = new Set<{ readonly deadline: number; readonly reject: (error: Error) => void }>()
  private sweeper: NodeJS.Timeout | undefined
  /** The server's `max_message_size`, once a publish ran into it. */
  private serverMaxBytes = Number.POSITIVE_INFINITY

  constructor(
    private readonly connection: Connection,
    private readonly options: ResolvedOptions,
  ) {}

  publish(queue: string, content: Buffer, properties: MessageProperties): Promise<void> {
    if (content.length > this.serverMaxBytes) return Promise.reject(this.tooLarge(queue, content))
    const deadline = Date.now() + this.options.publishTimeoutMs
    const pc = this.ready
    // Fast path: an open channel with room, an unblocked connection — write now, no await before the write.
    if (pc !== undefined && !pc.closed && !pc.full && !this.connection.blocked && this.connection.usable) {
      return this.publishOnce(pc, queue, content, properties, deadline).catch((error: unknown) =>
        error instanceof ChannelLost ? this.publishSlow(queue, content, properties, deadline) : Promise.reject(error),
      )
    }
    return this.publishSlow(queue, content, properties, deadline)
  }

  private async publishSlow(queue: string, content: Buffer, properties: MessageProperties, deadline: number) {
    for (;;) {
      this.connection.assertUsable()
      let pc: PublisherChannel
      try {
        pc = await this.channel(deadline)
      } catch (error) {
        // The connection may be dying under us (a channel open refused as it closes): retry until recovered.
        if (!this.connection.usable || Date.now() >= deadline) throw error
        await sleep(50)
        continue
      }
      await this.connection.unblocked(deadline)
      // Re-checked with no await between the check and the write: publishers woken by one `drain` must not all
      // write at once past the high-water mark.
      do await this.writable(pc, deadline)
      while (pc.full && !pc.closed)
      try {
        await this.publishOnce(pc, queue, content, properties, deadline)
        return
      } catch (error) {
        if (!(error instanceof ChannelLost)) throw error
        if (content.length > this.serverMaxBytes) throw this.tooLarge(queue, content)
        this.options.logger.debug({ queue }, '[conveyor] [rabbitmq] channel lost before the confirm; publishing again')
        if (Date.now() >= deadline) {
          throw new NotConnectedError(`[rabbitmq] no confirm for a message to "${queue}": the channel kept closing`)
        }
        await sleep(20)
      }
    }
  }

  private publishOnce(
    pc: PublisherChannel,
    queue: string,
    content: Buffer,
    properties: MessageProperties,
    deadline: number,
  ): Promise<void> {
    const options = this.optionsOf(properties)
    return new Promise<void>((resolve, reject) => {
      const waiter = { deadline, reject }
      let written: boolean
      try {
        written = pc.channel.publish('', queue, content, options, (error: unknown) => {
          this.awaiting.delete(waiter)
          const failure = this.outcome(queue, options.messageId, error)
          if (failure === undefined) resolve()
          else reject(failure)
        })
      } catch (error) {
        // amqplib throws synchronously on a closed channel.
        reject(new ChannelLost((error as Error).message))
        return
      }
      this.awaiting.add(waiter)
      this.sweep()
      if (!written) pc.full = true
    })
  }

  /**
   * Publish a batch and resolve once every message is confirmed: one promise and one confirm deadline for the
   * batch, a callback per message. Same outcomes as `publish` for each message (a message the channel lost is
   * published again alone; the first nack or return rejects the batch once every confirm came). Messages that find
   * the write buffer full, a channel not open yet, a blocked connection, or a size over the server's limit take
   * `publish`'s path one by one.
   */
  publishBatch(items: readonly Outgoing[]): Promise<void> {
    const pc = this.ready
    if (pc === undefined || pc.closed || pc.full || this.connection.blocked || !this.connection.usable) {
      return this.eachAlone(items, 0)
    }
    const deadline = Date.now() + this.options.publishTimeoutMs
    let sent = 0
    // Confirm callbacks only ever run after this executor returned: `waiting` is final before the first one.
    const batch = new Promise<void>((resolve, reject) => {
      let waiting = 0
      let failure: Error | undefined
      const lost: Outgoing[] = []
      let done = false
      let timedOut: Error | undefined
      const finish = (error?: Error) => {
        if (done) return
        done = true
        this.awaiting.delete(waiter)
        if (lost.length === 0 || error === timedOut) return error === undefined ? resolve() : reject(error)
        this.options.logger.debug({ lost: lost.length }, '[conveyor] [rabbitmq] channel lost before the confirms')
        // A duplicate at worst: what the channel lost is published again before the batch settles.
        this.eachAlone(lost, 0, deadline).then(() => (error === undefined ? resolve() : reject(error)), reject)
      }
      const waiter = {
        deadline,
        reject: (error: Error) => {
          timedOut = error
          finish(error)
        },
      }
      const confirmed = (item: Outgoing, messageId: string) => (error: unknown) => {
        const outcome = this.outcome(item.queue, messageId, error)
        if (outcome instanceof ChannelLost) lost.push(item)
        else if (outcome !== undefined) failure ??= outcome
        if (--waiting === 0) finish(failure)
      }
      for (; sent < items.length && !pc.full; sent++) {
        const item = items[sent]!
        if (item.content.length > this.serverMaxBytes) break
        const options = this.optionsOf(item.properties)
        try {
          if (!pc.channel.publish('', item.queue, item.content, options, confirmed(item, options.messageId))) {
            pc.full = true
          }
        } catch {
          // amqplib throws synchronously on a closed channel: this message and the rest go alone.
          break
        }
        waiting++
      }
      if (waiting === 0) return resolve()
      this.awaiting.add(waiter)
      this.sweep()
    })
    if (sent === items.length) return batch
    // The rest found the write buffer full (or a closed channel, or the size limit): `publish`'s path, one by one.
    return Promise.all([batch, this.eachAlone(items, sent)]).then(() => undefined)
  }

  /** `publish` for each item from `from` on (or, after `deadline` is given, the slow path with that deadline). */
  private eachAlone(items: readonly Outgoing[], from: number, deadline?: number): Promise<void> {
    const rest = from === 0 ? items : items.slice(from)
    return Promise.all(
      rest.map(({ queue, content, properties }) =>
        deadline === undefined
          ? this.publish(queue, content, properties)
          : this.publishSlow(queue, content, properties, deadline),
      ),
    ).then(() => undefined)
  }

  /** amqplib's options for a message: one object shape for every publish keeps its argument handling monomorphic. */
  private optionsOf(properties: MessageProperties) {
    return {
      contentType: 'application/json',
      priority: properties.priority,
      // Returns are matched to publishes by routing key and message id; a message without an id gets a tag.
      messageId: properties.messageId ?? `c${++this.seq}`,
      headers: properties.headers,
      timestamp: properties.timestamp,
      persistent: true,
      mandatory: true,
    }
  }

  /** What a confirm callback means: undefined for success, else the error to reject with. */
  private outcome(queue: string, messageId: string, error: unknown): Error | undefined {
    // A return (mandatory, unroutable) arrives before the confirm of the same message.
    const returned = this.returned.size > 0 && this.returned.delete(`${queue}\n${messageId}`)
    if (error) {
      const message = (error as Error).message
      if (message === 'message nacked') {
        return new PublishNackedError(`[rabbitmq] the broker refused (nacked) a message to "${queue}"`)
      }
      return new ChannelLost(message)
    }
    if (returned) return new UnroutableError(`[rabbitmq] no queue "${queue}" to route to; the message was returned`)
    return undefined
  }

  private tooLarge(queue: string, content: Buffer): PayloadTooLargeError {
    return new PayloadTooLargeError(
      `[rabbitmq] message of ${content.length} bytes for "${queue}" exceeds the server's max_message_size ` +
        `(${this.serverMaxBytes}); lower maxMessageBytes to match it`,
    )
  }

  /** Reject publishes whose confirm is overdue: a confirm that never came is never reported as success. */
  private sweep(): void {
    if (this.sweeper !== undefined || this.awaiting.size === 0) return
    this.sweeper = setTimeout(() => {
      this.sweeper = undefined
      const now = Date.now()
      for (const waiter of this.awaiting) {
        if (waiter.deadline > now) continue
        this.awaiting.delete(waiter)
        waiter.reject(new NotConnectedError('[rabbitmq] timed out waiting for the publisher confirm'))
      }
      this.sweep()
    }, 250)
    this.sweeper.unref()
  }

  private async writable(pc: PublisherChannel, deadline: number): Promise<void> {
    while (pc.full && !pc.closed) {
      await withDeadline(new Promise<void>((resolve) => pc.wake.add(resolve)), deadline, 'drain of the write buffer')
    }
  }

  private channel(deadline: number): Promise<PublisherChannel> {
    if (this.current === undefined) {
      const opening = this.connection.confirmChannel(deadline).then((channel) => {
        const pc: PublisherChannel = { channel, full: false, closed: false, wake: new Set() }
        this.ready = pc
        const wakeAll = () => {
          for (const wake of pc.wake) wake()
          pc.wake.clear()
        }
        channel.on('error', (error: Error) => {
          // "message size N is larger than configured max size M": learn the server's limit (maxMessageBytes was
          // set above it), so this message and later ones fail with a clear error instead of closing channels.
          const max = /larger than configured max size (\d+)/.exec(error.message)?.[1]
          if (max !== undefined) this.serverMaxBytes = Number(max)
          this.options.logger.warn({ err: error }, '[conveyor] [rabbitmq] publisher channel error')
        })
        channel.on('close', () => {
          pc.closed = true
          if (this.ready === pc) this.ready = undefined
          if (this.current === opening) this.current = undefined
          wakeAll()
        })
        channel.on('drain', () => {
          pc.full = false
          wakeAll()
        })
        channel.on('return', (message: Message) => {
          const id = message.properties.messageId
          if (typeof id === 'string') this.returned.add(`${message.fields.routingKey}\n${id}`)
        })
        return pc
      })
      this.current = opening
      opening.catch(() => {
        if (this.current === opening) this.current = undefined
      })
    }
    return this.current
  }

  async close(): Promise<void> {
    const current = this.current
    this.current = undefined
    this.ready = undefined
    if (current) await (await current.catch(() => undefined))?.channel.close().catch(() => {})
  }
}
