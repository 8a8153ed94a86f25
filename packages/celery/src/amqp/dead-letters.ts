import type { DeadLetter, DeadLetterPage, DeadLetterSelection, DeadLetterStore } from '@conveyor/core/adapter'
import { replayedEnvelope, safeJsonParse } from '@conveyor/core/adapter'
import type { Channel, ChannelModel, GetMessage } from 'amqplib'
import { envelopeToCelery } from '../protocol/message'
import { amqpPublishOptions } from './amqp-message'
import { deadQueueOf } from './options'
import type { ConfirmPublisher } from './publisher'

/**
 * Dead letters of Celery queues on RabbitMQ: a durable queue per Celery queue (`<queue>.conveyor.dead`) of JSON
 * entries. Listing reads with `basic.get` on a channel of its own and closes it, which puts every read entry back
 * in order; replay and purge ack what they moved or removed.
 */
export class AmqpCeleryDeadLetters implements DeadLetterStore {
  constructor(
    private readonly model: () => Promise<ChannelModel>,
    private readonly publisher: () => Promise<ConfirmPublisher>,
  ) {}

  async count(queue: string): Promise<number> {
    return this.withChannel(async (channel) => (await channel.checkQueue(deadQueueOf(queue))).messageCount)
  }

  async list(queue: string, page: DeadLetterPage = {}): Promise<DeadLetter[]> {
    const offset = page.offset ?? 0
    const limit = page.limit ?? 100
    return this.withChannel(async (channel) => {
      const read = await this.readAll(channel, queue, offset + limit)
      return read.slice(offset).map(([, entry]) => entry)
    })
  }

  async purge(queue: string, ids?: readonly string[]): Promise<number> {
    return this.withChannel(async (channel) => {
      if (ids === undefined) return (await channel.purgeQueue(deadQueueOf(queue))).messageCount
      const wanted = new Set(ids)
      let removed = 0
      for (const [message, entry] of await this.readAll(channel, queue)) {
        if (wanted.has(entry.id)) {
          channel.ack(message)
          removed++
        }
      }
      return removed
    })
  }

  async replay(queue: string, selection: DeadLetterSelection = {}): Promise<number> {
    const publisher = await this.publisher()
    return this.withChannel(async (channel) => {
      const wanted = selection.ids === undefined ? undefined : new Set(selection.ids)
      const limit = selection.limit ?? Number.POSITIVE_INFINITY
      let replayed = 0
      for (const [message, entry] of await this.readAll(channel, queue)) {
        if (replayed >= limit || entry.envelope === undefined) continue
        if (wanted !== undefined && !wanted.has(entry.id)) continue
        const envelope = replayedEnvelope(entry.envelope, entry.envelope.queue)
        const celery = envelopeToCelery(envelope, envelope.priority)
        const options = amqpPublishOptions(celery, envelope.expiresAt)
        await publisher.publish('', queue, Buffer.from(celery.body, 'utf8'), options)
        channel.ack(message)
        replayed++
      }
      return replayed
    })
  }

  private async readAll(channel: Channel, queue: string, max = 10_000): Promise<[GetMessage, DeadLetter][]> {
    const out: [GetMessage, DeadLetter][] = []
    while (out.length < max) {
      const message = await channel.get(deadQueueOf(queue), { noAck: false })
      if (message === false) break
      out.push([message, safeJsonParse(message.content.toString('utf8')) as DeadLetter])
    }
    return out
  }

  /** Run on a fresh channel, closed afterwards: whatever was read and not acked goes back to the queue. */
  private async withChannel<T>(work: (channel: Channel) => Promise<T>): Promise<T> {
    const channel = await (await this.model()).createChannel()
    try {
      return await work(channel)
    } finally {
      await channel.close().catch(() => undefined)
    }
  }
}
