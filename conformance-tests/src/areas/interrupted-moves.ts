import { type Broker, type Delivery, toErrorInfo, withTimeout } from '@conveyor/core/adapter'
import { ConformanceFailure } from '../harness/failure'
import type { Harness } from '../harness/harness'
import { TIMING } from '../harness/harness'
import { eventually, sleep } from '../harness/wait'

type Move = 'retry' | 'retry later' | 'dead-letter' | 'release'
/** When the crash comes: in the tick the move started, on the next turn of the event loop, or a moment later. */
type Interrupt = 'same tick' | 'next turn' | 'after 2 ms'

const moves: readonly Move[] = ['retry', 'retry later', 'dead-letter', 'release']
const interrupts: readonly Interrupt[] = ['same tick', 'next turn', 'after 2 ms']

function crashAt(interrupt: Interrupt, broker: Broker): Promise<void> {
  const destroy = () => broker.destroy().catch(() => {})
  if (interrupt === 'same tick') return destroy()
  if (interrupt === 'next turn') return new Promise((resolve) => setImmediate(() => void destroy().then(resolve)))
  return sleep(2).then(destroy)
}

function start(move: Move, delivery: Delivery, h: Harness): Promise<unknown> {
  const error = toErrorInfo(new Error('moved while crashing'))
  const started =
    move === 'retry'
      ? delivery.retry(0)
      : move === 'retry later'
        ? delivery.retry(h.ms(TIMING.delay))
        : move === 'dead-letter'
          ? delivery.deadLetter('conformance', error)
          : delivery.release()
  // Whether the move itself resolves is not the point: what the store holds after the crash is.
  return started.catch(() => {})
}

/**
 * Every move that takes a message out of one place and puts it in another (retry, dead-letter, release, replay) is
 * interrupted by a crash at several moments. Afterwards each message must be live (delivered again) or dead, never
 * gone; a duplicate is allowed (at-least-once), a loss is not.
 */
export async function interruptedMoves(h: Harness): Promise<void> {
  const queue = h.queue()
  const caps = await h.capabilities()
  const plans = moves.flatMap((move, i) => [interrupts[i % 3]!, interrupts[(i + 1) % 3]!].map((at) => ({ move, at })))
  const running: Promise<unknown>[] = []
  // What has not ended yet, named: a move or a destroy that never settles fails the test with its name (it timed out
  // once, unnamed, on a Redis cluster in a full CI run).
  const pending = new Set<string>()
  const track = (label: string, promise: Promise<unknown>) => {
    pending.add(label)
    running.push(promise.finally(() => pending.delete(label)))
  }
  /** Each message's id → what was done to it, for the failure message. */
  const labels = new Map<string, string>()
  // One instance per plan, each holding its one message (prefetch 1, so a newer consumer gets the next).
  const held: { broker: Broker; delivery: Delivery; move: Move; at: Interrupt }[] = []
  for (const plan of plans) {
    const broker = await h.broker()
    const envelope = h.envelope(queue, { payload: plan })
    labels.set(envelope.id, `${plan.move} / crash ${plan.at}`)
    await broker.publish(envelope)
    const consumer = await h.consume(broker, queue, { prefetch: 1 })
    const { delivery } = await consumer.next(h.ms(TIMING.prompt), `the message for ${plan.move} / ${plan.at}`)
    await consumer.subscription?.cancel()
    held.push({ broker, delivery, ...plan })
  }
  for (const { broker, delivery, move, at } of held) {
    track(`${move} / crash ${at}: the move`, start(move, delivery, h))
    track(`${move} / crash ${at}: destroy`, crashAt(at, broker))
  }
  if (caps.deadLetterManagement) {
    for (const at of interrupts.slice(0, 2)) {
      const broker = await h.broker()
      const envelope = h.envelope(queue, { payload: { move: 'replay', at } })
      labels.set(envelope.id, `replay / crash ${at}`)
      await broker.publish(envelope)
      const consumer = await h.consume(broker, queue, { prefetch: 1 })
      const { delivery } = await consumer.next(h.ms(TIMING.prompt), 'the message to replay')
      await consumer.subscription?.cancel()
      await delivery.deadLetter('conformance', toErrorInfo(new Error('to be replayed')))
      track(
        `replay / crash ${at}: the replay`,
        broker.deadLetters.replay(queue, { ids: [envelope.id] }).catch(() => {}),
      )
      track(`replay / crash ${at}: destroy`, crashAt(at, broker))
    }
  }
  const settleMs = h.ms(15_000)
  await withTimeout(
    Promise.all(running),
    settleMs,
    () => new ConformanceFailure(`not settled within ${settleMs} ms after the crashes: ${[...pending].join('; ')}`),
  )
  const survivor = await h.consume(await h.broker(), queue, { ack: true, prefetch: 20 })
  const inspector = await h.inspector()
  const lost = async () => {
    const dead = new Set((await inspector.deadLetters(queue)).map((d) => d.id))
    const live = new Set(survivor.received.map((r) => r.delivery.envelope.id))
    return [...labels].filter(([id]) => !dead.has(id) && !live.has(id)).map(([, label]) => label)
  }
  await eventually(
    lost,
    (missing) => missing.length === 0,
    h.ms(TIMING.redelivery + TIMING.delay + TIMING.window),
    'every interrupted message live or dead (those listed are neither)',
  )
}
