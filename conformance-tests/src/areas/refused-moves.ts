import { type BrokerCapabilities, type Envelope, encodeEnvelope, toErrorInfo } from '@conveyor/core/adapter'
import type { Harness } from '../harness/harness'
import { TIMING } from '../harness/harness'
import { eventually } from '../harness/wait'

/** Largest `maxMessageBytes` the test builds messages at (bigger limits run it in a named configuration). */
const LARGEST = 256 * 1024

export const needsSmallLimit = (caps: BrokerCapabilities): string | undefined =>
  caps.maxMessageBytes > LARGEST
    ? `claims maxMessageBytes ${caps.maxMessageBytes}; run this test in a named configuration with a limit ≤ ${LARGEST}`
    : undefined

/** An envelope whose encoding is a few bytes under `limit`: any move that adds a field makes it too large. */
function atTheLimit(h: Harness, queue: string, limit: number): Envelope {
  const bare = h.envelope(queue, { payload: '' })
  return { ...bare, payload: 'x'.repeat(limit - 8 - encodeEnvelope(bare).length) }
}

/**
 * Moves whose second step the store may refuse: a retry of a message at the size limit (the next attempt carries a
 * `notBefore` more) and a dead-letter whose record is larger than the limit (a long stack). Whether the move
 * resolves or rejects, afterwards each message is live or dead — never acked away with its copy refused.
 */
export async function refusedMoves(h: Harness): Promise<void> {
  const queue = h.queue()
  const broker = await h.broker()
  const limit = (await h.capabilities()).maxMessageBytes
  const [retried, dead] = [atTheLimit(h, queue, limit), atTheLimit(h, queue, limit)]
  for (const envelope of [retried!, dead!]) await broker.publish(envelope)
  const consumer = await h.consume(broker, queue, { prefetch: 2 })
  const got = await consumer.take(2, h.ms(TIMING.prompt), 'the messages at the size limit')
  await consumer.subscription?.cancel()
  const of = (id: string) => got.find((r) => r.delivery.envelope.id === id)!.delivery
  const error = { ...toErrorInfo(new Error('a long story')), stack: 'at frame\n'.repeat(limit / 8) }
  await Promise.all([
    of(retried!.id)
      .retry(h.ms(50))
      .catch(() => {}),
    of(dead!.id)
      .deadLetter('conformance', error)
      .catch(() => {}),
  ])
  // Whatever was refused comes back: at once, after a pause, or when the instance is gone and its leases expire.
  await broker.destroy()
  const survivor = await h.consume(await h.broker(), queue, { ack: true })
  const inspector = await h.inspector()
  const lost = async () => {
    const deadIds = new Set((await inspector.deadLetters(queue)).map((d) => d.id))
    const live = new Set(survivor.received.map((r) => r.delivery.envelope.id))
    return [retried!, dead!].filter((e) => !deadIds.has(e.id) && !live.has(e.id)).map((e) => e.id)
  }
  await eventually(
    lost,
    (missing) => missing.length === 0,
    h.ms(TIMING.redelivery + TIMING.prompt),
    'both messages live or dead after a refused move (ids below are neither)',
  )
}
