import { NotConnectedError } from '@conveyor/core'
import type { ConfirmChannel, Message, Options } from 'amqplib'
import { type Connection, withDeadline } from './connection'
import { PublishNackedError } from './errors/publish-nacked-error'
import { UnroutableError } from './errors/unroutable-error'
import type { ResolvedOptions } from './options'

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
  private readonly returned = new Set<string>()
  private seq = 0

  constructor(
    private readonly connection: Connection,
    private readonly options: ResolvedOptions,
  ) {}

  async publish(queue: string, content: Buffer, properties: Options.Publish): Promise<void> {
    const deadline = Date.now() + this.options.publishTimeoutMs
    for (;;) {
      this.connection.assertUsable()
      const pc = await this.channel(deadline)
      await this.connection.unblocked(deadline)
      // Re-checked with no await between the check and the write: publishers woken by one `drain` must not all
      // write at once past the high-water mark.
      do await this.writable(pc, deadline)
      while (pc.full && !pc.closed)
      try {
        await withDeadline(this.publishOnce(pc, queue, content, properties), deadline, 'publisher confirm')
        return
      } catch (error) {
        if (!(error instanceof ChannelLost)) throw error
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
    properties: Options.Publish,
  ): Promise<void> {
    const tag = `c${++this.seq}`
    return new Promise<void>((resolve, reject) => {
      let written: boolean
      try {
        written = pc.channel.publish(
          '',
          queue,
          content,
          { ...properties, mandatory: true, persistent: true, correlationId: tag },
          (error: unknown) => {
            const returned = this.returned.delete(tag)
            if (error) {
              const message = (error as Error).message
              if (message === 'message nacked') {
                reject(new PublishNackedError(`[rabbitmq] the broker refused (nacked) a message to "${queue}"`))
              } else reject(new ChannelLost(message))
            } else if (returned) {
              reject(new UnroutableError(`[rabbitmq] no queue "${queue}" to route to; the message was returned`))
            } else resolve()
          },
        )
      } catch (error) {
        // amqplib throws synchronously on a closed channel.
        reject(new ChannelLost((error as Error).message))
        return
      }
      if (!written) pc.full = true
    })
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
        const wakeAll = () => {
          for (const wake of pc.wake) wake()
          pc.wake.clear()
        }
        channel.on('error', (error: Error) =>
          this.options.logger.warn({ err: error }, '[conveyor] [rabbitmq] publisher channel error'),
        )
        channel.on('close', () => {
          pc.closed = true
          if (this.current === opening) this.current = undefined
          wakeAll()
        })
        channel.on('drain', () => {
          pc.full = false
          wakeAll()
        })
        channel.on('return', (message: Message) => {
          const tag = message.properties.correlationId
          if (typeof tag === 'string') this.returned.add(tag)
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
    if (current) await (await current.catch(() => undefined))?.channel.close().catch(() => {})
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
