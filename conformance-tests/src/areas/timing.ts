import type { Broker, BrokerCapabilities, DelayLateness, Delivery, Envelope } from '@conveyor/core/adapter'
import type { BrokerTestTable } from '../define'
import type { Received } from '../harness/collector'
import { ConformanceFailure } from '../harness/failure'
import type { Harness } from '../harness/harness'
import { TIMING } from '../harness/harness'
import { eventually } from '../harness/wait'
import type { TimingTestId } from '../ids'

/** Delays every adapter is checked at: sub-second to multi-second, none a round number an adapter might special-case. */
const DELAYS = [25, 130, 370, 820, 1_310, 2_230, 3_120]
/** Longest delay probed, so the area stays a few seconds long. */
const LONGEST = 3_500
/** Without a declared bound the suite allows one second flat (what `delay.within-window` checks). */
const FLAT: DelayLateness = { fixedMs: TIMING.window, ratio: 0 }

const needsDelays = (caps: BrokerCapabilities) =>
  caps.delayedDelivery === 'none' ? 'claims delayedDelivery: none, so timing is not tested' : undefined

/** The delays to probe: the fixed ones plus just above each boundary the adapter names (its delay levels). */
function delaysFor(h: Harness, extra: readonly number[] = []): number[] {
  const above = (h.options.delayBoundariesMs ?? []).flatMap((b) => [b + 1, b + Math.max(7, Math.round(b * 0.03))])
  return [...new Set([...DELAYS, ...extra, ...above])].filter((d) => d <= LONGEST).sort((a, b) => a - b)
}

/**
 * Ready messages published every few milliseconds and acked at once while the delayed ones wait, so the adapter
 * fetches (or is pushed to) all the time: a due-check that runs early only when something else wakes the consumer
 * shows up here, where an idle queue would hide it.
 */
function traffic(h: Harness, broker: Broker, queue: string): () => void {
  const timer = setInterval(() => {
    broker.publish(h.envelope(queue, { payload: { traffic: true } })).catch(() => {})
  }, 15)
  return () => clearInterval(timer)
}

/**
 * The longest stall of this process's event loop while the test ran: a handler cannot run during one, however
 * punctual the broker. It is added to the allowance, so a busy test process (other tests, a transform) does not
 * pass for a late adapter; a message early is early whatever the stalls.
 */
function stalls(): { readonly longest: number; stop(): void } {
  const every = 10
  let last = Date.now()
  let longest = 0
  const timer = setInterval(() => {
    const now = Date.now()
    longest = Math.max(longest, now - last - every)
    last = now
  }, every)
  return {
    get longest() {
      return longest
    },
    stop: () => clearInterval(timer),
  }
}

/** Check each timed delivery: never before its `notBefore`, never later than the bound for its delay. */
function judge(
  h: Harness,
  timed: { got: Received; delay: number; due: number }[],
  bound: DelayLateness,
  stalled: number,
): void {
  const problems: string[] = []
  for (const { got, delay, due } of timed) {
    const late = got.at - due
    const allowed = h.ms(bound.fixedMs) + bound.ratio * delay + stalled
    if (late < 0) problems.push(`delay ${delay} ms: ${-late} ms early`)
    else if (late > allowed) problems.push(`delay ${delay} ms: ${late} ms late (allowed ${Math.round(allowed)})`)
  }
  if (problems.length > 0) {
    const claimed = `fixedMs ${bound.fixedMs} + ratio ${bound.ratio} × delay, + ${stalled} ms of event-loop stalls`
    throw new ConformanceFailure(`not on time (bound: ${claimed}): ${problems.join('; ')}`)
  }
}

const isTraffic = (envelope: Envelope) => (envelope.payload as { traffic?: boolean } | null)?.traffic === true

/** Consume `queue`: traffic is acked at once, every other delivery is recorded (with its arrival time) and held. */
async function timedConsumer(broker: Broker, queue: string): Promise<Received[]> {
  const timed: Received[] = []
  const handler = (delivery: Delivery) => {
    if (isTraffic(delivery.envelope)) delivery.ack().catch(() => {})
    else timed.push({ delivery, at: Date.now() })
  }
  await broker.consume(queue, handler, { prefetch: 100 })
  return timed
}

/** Wait until `timed` holds `n` deliveries matching `which`. */
function arrivals(timed: Received[], n: number, which: (r: Received) => boolean, timeoutMs: number, what: string) {
  return eventually(
    async () => timed.filter(which),
    (got) => got.length >= n,
    timeoutMs,
    what,
  )
}

export const timingTests: BrokerTestTable<TimingTestId> = {
  'timing.delays-on-time': {
    title: 'delayed messages arrive never early and within the declared lateness, from 25 ms to seconds, under traffic',
    requires: needsDelays,
    timeoutMs: 20_000,
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      const bound = (await h.capabilities()).delayLateness ?? FLAT
      const timed = await timedConsumer(broker, queue)
      const stop = traffic(h, broker, queue)
      const loop = stalls()
      try {
        const delays = delaysFor(h)
        const sent = delays.map((delay) => {
          const due = Date.now() + h.ms(delay)
          return { delay: h.ms(delay), due, envelope: h.envelope(queue, { notBefore: due, payload: { delay } }) }
        })
        await Promise.all(sent.map((s) => broker.publish(s.envelope)))
        const longest = h.ms(delays.at(-1)!) + h.ms(bound.fixedMs) + bound.ratio * h.ms(LONGEST) + h.ms(TIMING.prompt)
        const got = await arrivals(timed, sent.length, () => true, longest, 'every delayed message')
        judge(
          h,
          sent.map((s) => ({ ...s, got: got.find((r) => r.delivery.envelope.id === s.envelope.id)! })),
          bound,
          loop.longest,
        )
      } finally {
        stop()
        loop.stop()
      }
    },
  },
  'timing.retries-on-time': {
    title: 'retry(delay) comes back never early and within the declared lateness, short and long delays, under traffic',
    requires: needsDelays,
    timeoutMs: 20_000,
    run: async (h) => {
      const queue = h.queue()
      const broker = await h.broker()
      const bound = (await h.capabilities()).delayLateness ?? FLAT
      const delays = delaysFor(h, [1, 60]).filter((d) => d <= 2_300)
      for (const delay of delays) await broker.publish(h.envelope(queue, { payload: { delay } }))
      const timed = await timedConsumer(broker, queue)
      const first = await arrivals(timed, delays.length, () => true, h.ms(TIMING.prompt), 'the messages to retry')
      const stop = traffic(h, broker, queue)
      const loop = stalls()
      try {
        const retried = await Promise.all(
          first.map(async ({ delivery }) => {
            const delay = h.ms((delivery.envelope.payload as { delay: number }).delay)
            const due = Date.now() + delay
            await delivery.retry(delay)
            return { id: delivery.envelope.id, delay, due }
          }),
        )
        const longest = Math.max(...retried.map((r) => r.delay)) + h.ms(bound.fixedMs) + h.ms(TIMING.prompt)
        const again = await arrivals(
          timed,
          retried.length,
          (r) => r.delivery.envelope.attempt === 2,
          longest + bound.ratio * h.ms(LONGEST),
          'every retried message',
        )
        judge(
          h,
          retried.map((r) => ({ ...r, got: again.find((t) => t.delivery.envelope.id === r.id)! })),
          bound,
          loop.longest,
        )
      } finally {
        stop()
        loop.stop()
      }
    },
  },
}
