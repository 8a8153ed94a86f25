import { randomUUID } from 'node:crypto'
import type { EventStream } from '@conveyor/core/adapter'
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

  it('reads a stream deleted behind it as the new, empty stream it declares again, from every position', async () => {
    prefix = `cvt.evgone.${randomUUID().slice(0, 8)}`
    const stream = createRabbitMQEventStream({ url: AMQP_URL, prefix })
    try {
      await stream.publish([startedEvent(1)])
      expect(await storedIds(stream)).toEqual(['run-1'])
      await deleteStream(prefix)
      // A dashboard left open while an operator dropped the stream: its next reads work, and find nothing old.
      expect(await storedIds(stream)).toEqual([])
      const end = await stream.read('end')
      expect(end.events).toEqual([])
      await stream.publish([startedEvent(2)])
      const after = await stream.read({ after: end.cursor }, { limit: 10 })
      expect(after.events.map((stored) => ('id' in stored.event ? stored.event.id : '?'))).toEqual(['run-2'])
    } finally {
      await stream.close()
    }
  }, 30_000)
})
