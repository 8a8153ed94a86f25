import { describe, expect, it } from 'vitest'
import type { ConveyorEvent, EventStream } from '../../src/adapter'
import { EventPublisher } from '../../src/adapter'
import { resolveLogger } from '../../src/logging/logger'

const started = (id: number): ConveyorEvent => ({
  type: 'task.started',
  id: `id-${id}`,
  task: 't',
  queue: 'q',
  attempt: 1,
  at: id,
  deliveryCount: 1,
  enqueuedAt: 0,
})

/** A stream whose writes never finish: the store is alive but slower than the events. */
function stalledStream(): EventStream & { writes: number } {
  const stream = {
    name: 'stalled',
    writes: 0,
    publish: () => {
      stream.writes++
      return new Promise<void>(() => {})
    },
  }
  return stream as unknown as EventStream & { writes: number }
}

describe('EventPublisher: memory stays bounded while the store is slow', () => {
  it('holds at most maxBuffered events, counting batches already handed to a write that has not finished', async () => {
    const stream = stalledStream()
    const publisher = new EventPublisher({
      stream,
      history: undefined,
      logger: resolveLogger(false),
      maxBatch: 100,
      maxBuffered: 1_000,
    })
    for (let i = 0; i < 50_000; i++) publisher.push(started(i))
    await new Promise((resolve) => setTimeout(resolve, 30))
    const stats = publisher.stats()
    expect(stream.writes).toBe(1)
    expect(stats.buffered).toBeLessThanOrEqual(1_000)
    // Every event is accounted for: held (waiting or in the stalled write) or dropped.
    expect(stats.buffered + stats.dropped).toBe(50_000)
    expect(stats.dropped).toBeGreaterThanOrEqual(49_000)
  })
})
