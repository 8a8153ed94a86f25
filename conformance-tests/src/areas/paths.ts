import { type Delivery, toErrorInfo } from '@conveyor/core/adapter'
import { expect } from 'vitest'
import type { BrokerTestTable } from '../define'
import type { Collector } from '../harness/collector'
import { TIMING } from '../harness/harness'
import { eventually, sleep } from '../harness/wait'
import type { PathsTestId } from '../ids'
import { interruptedMoves } from './interrupted-moves'
import { needsSmallLimit, refusedMoves } from './refused-moves'

const error = toErrorInfo(new Error('conformance'))

/** The next delivery of `consumer`, checked for its attempt and (when counted) delivery count. */
async function expectNext(
  consumer: Collector,
  timeoutMs: number,
  what: string,
  expected: { attempt: number; deliveryCount: number },
): Promise<Delivery> {
  const { delivery } = await consumer.next(timeoutMs, what)
  expect({ attempt: delivery.envelope.attempt, deliveryCount: delivery.deliveryCount }, what).toEqual(expected)
  return delivery
}

export const pathsTests: BrokerTestTable<PathsTestId> = {
  'paths.delivery-counts': {
    title: 'deliveryCount after every path: release keeps it, a reclaim adds one, retry and replay start again at 1',
    requires: (caps) => (caps.deliveryCount ? undefined : 'claims deliveryCount: false'),
    timeoutMs: 20_000,
    run: async (h) => {
      const queue = h.queue()
      const crashed = await h.broker()
      const sent = h.envelope(queue)
      await crashed.publish(sent)
      const first = await h.consume(crashed, queue, { prefetch: 1 })
      const prompt = h.ms(TIMING.prompt)
      let d = await expectNext(first, prompt, 'first delivery', { attempt: 1, deliveryCount: 1 })
      await d.release()
      await expectNext(first, prompt, 'after a release', { attempt: 1, deliveryCount: 1 })
      await crashed.destroy()
      const broker = await h.broker()
      const next = await h.consume(broker, queue, { prefetch: 1 })
      d = await expectNext(next, h.ms(TIMING.redelivery), 'after a reclaim', { attempt: 1, deliveryCount: 2 })
      await d.release()
      d = await expectNext(next, prompt, 'after a release that followed a reclaim', { attempt: 1, deliveryCount: 2 })
      await d.retry(0)
      d = await expectNext(next, prompt, 'after a retry', { attempt: 2, deliveryCount: 1 })
      await d.deadLetter('conformance', error)
      const inspector = await h.inspector()
      const [record] = await eventually(
        () => inspector.deadLetters(queue),
        (dead) => dead.length === 1,
        prompt,
        'the dead letter',
      )
      expect(record).toMatchObject({ id: sent.id, attempts: 2, deliveryCount: 1 })
      if (!(await h.capabilities()).deadLetterManagement) return
      expect(await broker.deadLetters.replay(queue)).toBe(1)
      d = await expectNext(next, prompt, 'after a replay', { attempt: 1, deliveryCount: 1 })
      await d.ack()
    },
  },
  'paths.priority-after-moves': {
    title: 'priorities and FIFO within a level still hold after retries, releases, replays and reclaims',
    timeoutMs: 20_000,
    run: async (h) => {
      const queue = h.queue()
      const caps = await h.capabilities()
      const levels = caps.priorityLevels
      const at = (priority: number, name: string) => h.envelope(queue, { priority, payload: { name } })
      const [reclaimed, retried, released, replayed] = [
        at(6, 'reclaimed'),
        at(9, 'retried'),
        at(5, 'released'),
        at(7, 'replayed'),
      ]
      // One message held by an instance that will crash (reclaimed on lease expiry / channel close) …
      const crashed = await h.broker()
      await crashed.publish(reclaimed!)
      const victim = await h.consume(crashed, queue, { prefetch: 1 })
      await victim.next(h.ms(TIMING.prompt), 'the message to reclaim')
      await victim.subscription?.cancel()
      // … three held by another that moves them back while untouched messages wait.
      const mover = await h.broker()
      for (const envelope of [retried!, released!, replayed!]) await mover.publish(envelope)
      const moving = await h.consume(mover, queue, { prefetch: 3 })
      const held = await moving.take(3, h.ms(TIMING.prompt), 'the messages to move')
      await moving.subscription?.cancel()
      const untouched = [at(0, 'first zero'), at(8, 'eight'), at(3, 'three'), at(0, 'second zero')]
      for (const envelope of untouched) await mover.publish(envelope)
      const of = (id: string) => held.find((r) => r.delivery.envelope.id === id)!.delivery
      await of(retried!.id).retry(0)
      await of(released!.id).release()
      const replay = caps.deadLetterManagement
      if (replay) {
        await of(replayed!.id).deadLetter('conformance', error)
        await eventually(
          () => mover.deadLetters.replay(queue),
          (n) => n === 1,
          h.ms(TIMING.prompt),
          'replay of the dead letter',
        )
      } else await of(replayed!.id).retry(0)
      await crashed.destroy()
      // Past the lease, so the crashed instance's message is reclaimable when the drain starts.
      await sleep(h.ms(TIMING.lease + TIMING.quiet))
      const drain = await h.consume(mover, queue, { prefetch: 1, ack: true })
      const all = [reclaimed!, retried!, released!, replayed!, ...untouched]
      const got = (await drain.take(all.length, h.ms(TIMING.redelivery), 'every message')).map((r) => r.delivery)
      const name = (d: Delivery) => (d.envelope.payload as { name: string }).name
      const names = got.map(name)
      expect(names.indexOf('first zero'), `FIFO within a level, in ${names.join(', ')}`).toBeLessThan(
        names.indexOf('second zero'),
      )
      if (levels >= 10) {
        // Every level distinct: exactly by priority, the two zeros in publish order.
        expect(got.map((d) => d.envelope.priority)).toEqual([9, 8, 7, 6, 5, 3, 0, 0])
      } else if (levels > 1) {
        expect(names[0], 'the priority-9 message first').toBe('retried')
        expect(
          got.slice(-2).map((d) => d.envelope.priority),
          'the priority-0 messages last',
        ).toEqual([0, 0])
      }
    },
  },
  'paths.interrupted-moves': {
    title:
      'a retry, dead-letter, release or replay interrupted by a crash loses nothing: each message is live or dead after',
    timeoutMs: 25_000,
    run: interruptedMoves,
  },
  'paths.refused-move-keeps-message': {
    title: 'a retry or dead-letter whose new copy the store refuses (too large) leaves the message live or dead',
    requires: needsSmallLimit,
    timeoutMs: 20_000,
    run: refusedMoves,
  },
}
