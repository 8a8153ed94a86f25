import { NotConnectedError } from '@conveyor/core'
import type { Channel, ConsumeMessage } from 'amqplib'

/**
 * An empty batch: a reader takes no event from it (every version that reads batches skips it). Written by a read from
 * `'end'` only to learn where the end is.
 */
export const END_MARKER = '[]'

/**
 * The cursor of the stream's end as it is now: the offset of the last message written before this call (`-1` when
 * there is none), so that `{ after: cursor }` reads exactly what is written from then on.
 *
 * Why not the last chunk (`x-stream-offset: 'last'`) and a wait after it: AMQP says nothing when a stream is empty, so
 * "no chunk yet" (a busy broker) and "no chunk at all" (an empty stream) look the same, and any fixed wait turns a
 * busy broker into cursor `-1`, replaying the whole stream to a reader that asked for new events only. Instead a
 * consumer attaches at `'next'` (RabbitMQ ≥ 3.9: only messages written after it attached), then an empty batch is
 * written: the first message that consumer gets (the marker or a newer event) has offset F, and everything before F
 * was there before. This waits for the broker however slow it is, and never guesses.
 */
export async function endOfStream(channel: Channel, queue: string): Promise<string> {
  await channel.prefetch(1)
  return new Promise<string>((resolve, reject) => {
    let tag: string | undefined
    let done = false
    // The server's reason when it closed the channel: amqplib emits it as `error` just before `close`, and before the
    // consume call itself rejects with it. A 404 (the stream queue deleted behind our back) is passed on as it is, so
    // the reader declares the queue again; anything else is a lost channel.
    let closedWith: unknown
    const onError = (error: unknown) => {
      closedWith = error
    }
    const onClose = () =>
      settle(() =>
        reject(
          (closedWith as { code?: unknown } | undefined)?.code === 404
            ? closedWith
            : new NotConnectedError('[rabbitmq] event stream closed while reading', { cause: closedWith }),
        ),
      )
    const settle = (then: () => void) => {
      if (done) return
      done = true
      channel.removeListener('close', onClose)
      channel.removeListener('error', onError)
      then()
    }
    const onMessage = (message: ConsumeMessage | null) => {
      if (message === null) return onClose()
      channel.ack(message)
      const first = Number(message.properties.headers?.['x-stream-offset'])
      // Cancelled before resolving: the caller's next consumer on this channel must not get this one's messages.
      settle(() => {
        const cancel = tag === undefined ? Promise.resolve() : channel.cancel(tag).then(() => undefined)
        void cancel.catch(() => undefined).then(() => resolve(String(first - 1)))
      })
    }
    channel.once('close', onClose)
    channel.on('error', onError)
    channel
      .consume(queue, onMessage, { noAck: false, arguments: { 'x-stream-offset': 'next' } })
      .then((ok) => {
        tag = ok.consumerTag
        // After consume-ok the consumer is attached: the marker is written after it, so it (or something newer) comes.
        channel.sendToQueue(queue, Buffer.from(END_MARKER), { contentType: 'application/json' })
      })
      .catch((error: unknown) => settle(() => reject(error)))
  })
}
