import { type ConveyorEvent, type EncodedEventBatch, joinEncoded } from '@conveyor/core/adapter'
import type { RedisClient } from './options'

/** Trim by age at most this often (`XTRIM MINID ~`); the length bound is kept on every append. */
const AGE_TRIM_EVERY_MS = 10_000

/** What the writer needs from its stream. */
export interface EventWriterSetup {
  readonly client: RedisClient
  readonly key: string
  readonly maxLength: number
  readonly maxAgeMs: number
  /** Throws once the stream is closed; waits for the connection otherwise. */
  readonly ready: () => Promise<void>
}

/**
 * Appends published batches to the stream, one entry per batch. The length bound is in events; entries are bounded
 * through the mean batch size seen so far, so the bound is approximate.
 */
export class EventWriter {
  private lastAgeTrim = 0
  private meanBatch = 0

  constructor(private readonly setup: EventWriterSetup) {}

  publish(events: readonly ConveyorEvent[]): Promise<void> {
    return this.append(events.length, () => ['e', JSON.stringify(events)])
  }

  publishEncoded(texts: readonly string[]): Promise<void> {
    return this.append(texts.length, () => ['e', joinEncoded(texts)])
  }

  /** The batch's bytes as they are (field `e`), and its names table (field `n`) when its rows use one. */
  publishBatch(batch: EncodedEventBatch): Promise<void> {
    return this.append(batch.count, () => {
      const bytes = Buffer.from(batch.bytes.buffer, batch.bytes.byteOffset, batch.bytes.byteLength)
      return batch.names.length === 0 ? ['e', bytes] : ['e', bytes, 'n', JSON.stringify(batch.names)]
    })
  }

  /** One entry holding a batch of `count` events (`fields`: `e`, the batch as one JSON array, and maybe `n`). */
  private async append(count: number, fields: () => (string | Buffer)[]): Promise<void> {
    if (count === 0) return
    const { client, key, maxLength, maxAgeMs } = this.setup
    await this.setup.ready()
    const now = Date.now()
    this.meanBatch = this.meanBatch === 0 ? count : this.meanBatch * 0.9 + count * 0.1
    const maxEntries = Math.max(1, Math.ceil(maxLength / this.meanBatch))
    const pipeline = client.pipeline()
    pipeline.xadd(key, 'MAXLEN', maxEntries, '*', ...fields())
    if (now - this.lastAgeTrim >= AGE_TRIM_EVERY_MS) {
      this.lastAgeTrim = now
      pipeline.xtrim(key, 'MINID', '~', `${now - maxAgeMs}-0`)
    }
    const results = (await pipeline.exec()) ?? []
    const failed = results.find(([error]) => error !== null)
    if (failed) throw failed[0]
  }
}
