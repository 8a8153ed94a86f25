import { createApp } from '@conveyor/core'
import { newTaskId } from '@conveyor/core/adapter'
import { expect } from 'vitest'
import type { Harness } from '../harness/harness'
import { TIMING } from '../harness/harness'
import { eventually, sleep } from '../harness/wait'

/** Envelope JSON whose payload nests `depth` arrays, built as text (encoding it would overflow the stack). */
function deepEnvelopeText(h: Harness, queue: string, task: string, depth: number): string {
  const text = JSON.stringify({ ...h.envelope(queue, { id: newTaskId(), task }), payload: null })
  return text.replace('"payload":null', `"payload":${'['.repeat(depth)}${']'.repeat(depth)}`)
}

/**
 * Poison of every kind a worker must dead-letter without running it — payloads nested thousands of levels deep
 * (for a task it knows and one it does not), bytes that are not JSON, an envelope of an unknown task — more of it
 * than the worker has slots. Each must end in the dead-letter store once, free its slot, and never come back; the
 * ordinary jobs behind them all run.
 */
export async function poisonFreesSlots(h: Harness): Promise<void> {
  const queue = h.queue()
  const broker = await h.broker()
  const app = createApp({ broker, results: false, logger: false, defaults: { queue } })
  const ran: number[] = []
  const known = app.task('conformance.known', async (input: { i: number }) => {
    ran.push(input.i)
  })
  const poison = [
    deepEnvelopeText(h, queue, 'conformance.known', 6_000),
    deepEnvelopeText(h, queue, 'conformance.nobody', 6_000),
    deepEnvelopeText(h, queue, 'conformance.nobody', 6_000),
    '{"id": "not json',
    JSON.stringify(h.envelope(queue, { task: 'conformance.nobody-implements-this' })),
  ]
  try {
    // Two slots for five poison messages: any that keeps its slot (held, or redelivered for ever) stops the rest.
    await app.worker({ queues: [queue], concurrency: 2 }).start()
    for (const body of poison) await broker.publishRaw(queue, body)
    for (let i = 1; i <= 3; i++) await known.enqueue({ i })
    await eventually(
      async () => [...ran].sort(),
      (done) => done.length === 3,
      h.ms(TIMING.prompt * 2),
      'the ordinary jobs behind the poison',
    )
    const stats = await eventually(
      () => broker.stats(queue),
      (s) => s.dead === poison.length && s.ready === 0 && s.inFlight === 0,
      h.ms(TIMING.prompt * 2),
      'every poison message dead-lettered, nothing left live',
    )
    expect(stats).toMatchObject({ ready: 0, inFlight: 0, delayed: 0, dead: poison.length })
    // Past a lease: a poison message still held somewhere would come back (and be dead-lettered a second time).
    await sleep(h.ms(TIMING.lease + TIMING.quiet))
    expect(await broker.stats(queue)).toMatchObject({ ready: 0, inFlight: 0, dead: poison.length })
    expect([...ran].sort()).toEqual([1, 2, 3])
  } finally {
    await app.close({ timeoutMs: h.ms(TIMING.prompt) })
  }
}
