import type { ConfirmChannel, Message } from 'amqplib'
import type { Connection } from './connection'
import { UnroutableError } from './errors/unroutable-error'

/**
 * Longest batch message, in characters of JSON text (about bytes: events are mostly ASCII). Well under RabbitMQ's
 * default frame_max (128 KB), so a reader never holds much more than it returns.
 */
export const MAX_BATCH_CHARS = 64 * 1024

/** The message bodies for `texts`: JSON arrays of consecutive events up to `MAX_BATCH_CHARS`; a lone one as is. */
export function batchBodies(texts: readonly string[]): string[] {
  const bodies: string[] = []
  let from = 0
  while (from < texts.length) {
    let to = from + 1
    let chars = texts[from]!.length + 2
    while (to < texts.length && chars + texts[to]!.length + 1 <= MAX_BATCH_CHARS) chars += texts[to++]!.length + 1
    bodies.push(to - from === 1 ? texts[from]! : `[${texts.slice(from, to).join(',')}]`)
    from = to
  }
  return bodies
}

/** What the writer needs from its stream. */
export interface EventWriterSetup {
  readonly connection: Connection
  readonly queue: string
  /** Declares the stream queue (once). */
  readonly declare: () => Promise<void>
  /** The stream queue is gone: the next `declare` declares it again. */
  readonly redeclare: () => void
  /** Throws once the stream is closed. */
  readonly ensureOpen: () => void
}

/** Publishes events to the stream queue on a confirm channel of its own, reopened after it closes. */
export class EventWriter {
  private publisher: Promise<ConfirmChannel> | undefined
  /** Message ids RabbitMQ returned (no stream queue to route to), until their append looks. */
  private readonly returned = new Set<string>()
  private seq = 0

  constructor(private readonly setup: EventWriterSetup) {}

  /**
   * One message per batch: the events' JSON texts as one JSON array (`[e1,e2,…]`), cut so that no message passes
   * `MAX_BATCH_CHARS`; a lone event stays a bare object. The reader gives each event of a batch the offset
   * `<stream offset>.<index>`. Resolves once every message is confirmed and stored; rejects with `UnroutableError`
   * when the stream queue is gone (the next append declares it again).
   */
  async append(texts: readonly string[]): Promise<void> {
    this.setup.ensureOpen()
    if (texts.length === 0) return
    // Settled once declared; declares again after a return showed the queue gone.
    await this.setup.declare()
    const channel = await this.confirmChannel()
    const ids: string[] = []
    for (const body of batchBodies(texts)) {
      const messageId = `e${++this.seq}`
      ids.push(messageId)
      // Mandatory: without it a message to a deleted queue is dropped by the default exchange and still confirmed.
      const options = { contentType: 'application/json', mandatory: true, messageId }
      channel.publish('', this.setup.queue, Buffer.from(body), options)
    }
    let lost = 0
    try {
      // A return comes before the confirm of its message: once all are confirmed, every return of ours is in.
      await channel.waitForConfirms()
    } finally {
      for (const id of ids) if (this.returned.delete(id)) lost++
    }
    if (lost === 0) return
    this.setup.redeclare()
    throw new UnroutableError(
      `[rabbitmq] event stream queue "${this.setup.queue}" is gone: ${lost} of ${ids.length} messages were returned, ` +
        'not stored; the next publish declares it again',
    )
  }

  async close(): Promise<void> {
    const channel = await this.publisher?.catch(() => undefined)
    await channel?.close().catch(() => undefined)
  }

  private confirmChannel(): Promise<ConfirmChannel> {
    this.publisher ??= (async () => {
      const channel = await this.setup.connection.confirmChannel()
      channel.on('error', () => undefined)
      channel.on('return', (message: Message) => {
        const id = message.properties.messageId
        if (typeof id === 'string') this.returned.add(id)
      })
      channel.once('close', () => {
        this.publisher = undefined
      })
      return channel
    })().catch((error: unknown) => {
      this.publisher = undefined
      throw error
    })
    return this.publisher
  }
}
