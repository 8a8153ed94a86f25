import { NotConnectedError } from '@conveyor/core'
import {
  type RecordWaiter,
  type ResultWaitOptions,
  safeJsonParse,
  type TaskRecord,
  TERMINAL_STATES,
  waitForRecord,
} from '@conveyor/core/adapter'
import { closeClient, duplicateClient } from './connection'
import { resultChannel } from './keys'
import type { OutageReporter } from './logger'
import type { RedisClient } from './options'

interface Channel {
  readonly id: string
  readonly waiters: Set<RecordWaiter>
  readonly subscribed: Promise<unknown>
}

export const parseRecord = (json: string | null): TaskRecord | undefined =>
  json === null ? undefined : (safeJsonParse(json) as TaskRecord)

/** What the subscriber needs from its result backend. */
export interface ResultSubscriberSetup {
  readonly client: RedisClient
  readonly prefix: string
  readonly outage: OutageReporter
  /** Read the record as stored. */
  readonly get: (id: string) => Promise<TaskRecord | undefined>
}

/**
 * The waits of one result backend: one shared subscriber connection, one subscription per awaited task however many
 * wait on it. A wait subscribes first and reads the record second, so a result written between the two is never
 * missed; the terminal record comes with the message `set` publishes.
 */
export class ResultSubscriber {
  private subscriber: RedisClient | undefined
  private readonly channels = new Map<string, Channel>()

  constructor(private readonly setup: ResultSubscriberSetup) {}

  wait(id: string, options: ResultWaitOptions): Promise<TaskRecord> {
    const channel = resultChannel(this.setup.prefix, id)
    return waitForRecord(id, options, (waiter) => {
      let entry = this.channels.get(channel)
      if (entry === undefined) {
        entry = { id, waiters: new Set(), subscribed: this.connection().subscribe(channel) }
        this.channels.set(channel, entry)
      }
      const joined = entry
      joined.waiters.add(waiter)
      // Subscribed first, read second: a record written in between is seen by the read or by the message.
      joined.subscribed
        .then(() => this.setup.get(id))
        .then((record) => {
          if (record !== undefined && TERMINAL_STATES.has(record.state)) this.finish(channel, record)
        })
        .catch((error: unknown) => waiter.reject(error))
      // The last waiter to leave (timed out, aborted, failed) ends the subscription.
      return () => {
        if (joined.waiters.delete(waiter) && joined.waiters.size === 0 && this.channels.get(channel) === joined) {
          this.channels.delete(channel)
          void this.subscriber?.unsubscribe(channel).catch(() => {})
        }
      }
    })
  }

  /** Reject every wait and close the subscriber connection. */
  async close(): Promise<void> {
    const entries = [...this.channels.values()]
    this.channels.clear()
    for (const entry of entries) {
      for (const waiter of entry.waiters) {
        waiter.reject(new NotConnectedError('[conveyor] [redis] result backend closed while waiting'))
      }
    }
    if (this.subscriber !== undefined) await closeClient(this.subscriber)
  }

  private finish(channel: string, record: TaskRecord): void {
    const entry = this.channels.get(channel)
    if (entry === undefined) return
    this.channels.delete(channel)
    void this.subscriber?.unsubscribe(channel).catch(() => {})
    for (const waiter of entry.waiters) waiter.resolve(record)
  }

  /** The subscriber connection, opened on the first wait. */
  private connection(): RedisClient {
    if (this.subscriber !== undefined) return this.subscriber
    const { client, prefix, outage } = this.setup
    const sub = duplicateClient(client, `conveyor:${prefix}:results-sub`)
    sub.on('error', (error: unknown) => outage.failed(error))
    sub.on('message', (channel: string, message: string) => {
      const record = parseRecord(message)
      if (record !== undefined && TERMINAL_STATES.has(record.state)) this.finish(channel, record)
    })
    // ioredis resubscribes after a reconnect; anything finished during the outage was published to nobody, so
    // read every awaited record again.
    sub.on('ready', () => {
      outage.recovered()
      for (const [channel, entry] of this.channels) this.reread(channel, entry)
    })
    this.subscriber = sub
    return sub
  }

  private reread(channel: string, entry: Channel): void {
    if (entry.waiters.size === 0) return
    void this.setup
      .get(entry.id)
      .then((record) => {
        if (record !== undefined && TERMINAL_STATES.has(record.state)) this.finish(channel, record)
      })
      .catch(() => {})
  }
}
