import { randomUUID } from 'node:crypto'
import type { EventPosition, EventStream } from '@conveyor/core/adapter'
import { createRabbitMQEventStream, eventStreamQueue } from '@conveyor/rabbitmq'
import { AMQP_URL, rawChannel, startedEvent } from '@conveyor/test-support'
import { afterEach, describe, expect, it } from 'vitest'

async function storedIds(stream: EventStream): Promise<string[]> {
  const page = await stream.read('start', { limit: 100 })
  return page.events.map((stored) => ('id' in stored.event ? stored.event.id : '?'))
}

async function deleteStream(prefix: string): Promise<void> {
  const raw = await rawChannel()
  try {
    await raw.channel.deleteQueue(eventStreamQueue(prefix))
  } finally {
    await raw.close()
  }
}

describe('rabbitmq event stream whose queue was deleted behind its back', () => {
  let prefix = ''
  afterEach(async () => deleteStream(prefix))

  it('never resolves a publish that stored nothing, and declares the stream again for the next', async () => {
    prefix = `cvt.evgone.${randomUUID().slice(0, 8)}`
    const stream = createRabbitMQEventStream({ url: AMQP_URL, prefix })
    try {
      await stream.publish([startedEvent(1)])
      await deleteStream(prefix)
      const second = await stream.publish([startedEvent(2)]).then(
        () => 'resolved',
        (error: unknown) => error,
      )
      if (second === 'resolved') expect(await storedIds(stream)).toContain('run-2')
      else expect(second).toMatchObject({ code: 'CONVEYOR_UNROUTABLE' })
      await stream.publish([startedEvent(3)])
      expect(await storedIds(stream)).toContain('run-3')
    } finally {
      await stream.close()
    }
  }, 30_000)

  // A dashboard left open while an operator dropped the stream: whatever its next read asks for, it works, finds
  // nothing of the old stream, and later reads see what is written to the new one.
  const firstReads: Record<string, (cursor: string) => EventPosition> = {
    start: () => 'start',
    end: () => 'end',
    time: () => ({ time: Date.now() - 60_000 }),
    'a cursor into the old stream': (cursor) => ({ after: cursor }),
  }
  for (const [name, position] of Object.entries(firstReads)) {
    it(`reads a stream deleted behind it as the new one it declares again (first read: ${name})`, async () => {
      prefix = `cvt.evgone.${randomUUID().slice(0, 8)}`
      const stream = createRabbitMQEventStream({ url: AMQP_URL, prefix })
      try {
        await stream.publish([startedEvent(1), startedEvent(2), startedEvent(3)])
        const old = await stream.read('start', { limit: 100 })
        expect(old.events).toHaveLength(3)
        await deleteStream(prefix)
        const first = await stream.read(position(old.cursor), { limit: 100 })
        expect(first.events).toEqual([])
        await stream.publish([startedEvent(4)])
        await stream.publish([startedEvent(5)])
        const next = await stream.read({ after: first.cursor }, { limit: 100 })
        expect(next.events.map((stored) => ('id' in stored.event ? stored.event.id : '?'))).toEqual(['run-4', 'run-5'])
      } finally {
        await stream.close()
      }
    }, 30_000)
  }
})
