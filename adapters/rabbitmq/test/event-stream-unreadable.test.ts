import { randomUUID } from 'node:crypto'
import type { EventStream } from '@conveyor/core/adapter'
import { createRabbitMQEventStream, eventStreamQueue } from '@conveyor/rabbitmq'
import { AMQP_URL, startedEvent } from '@conveyor/test-support'
import { connect } from 'amqplib'
import { afterEach, describe, expect, it } from 'vitest'
import { deleteEventStream } from './helpers'

async function ids(stream: EventStream, limit: number): Promise<{ ids: string[]; cursor: string }> {
  const out: string[] = []
  let page = await stream.read('start', { limit })
  while (page.events.length > 0) {
    for (const stored of page.events) out.push('id' in stored.event ? stored.event.id : '?')
    page = await stream.read({ after: page.cursor }, { limit })
  }
  return { ids: out, cursor: page.cursor }
}

describe('rabbitmq event stream: messages it cannot read', () => {
  let prefix = ''
  afterEach(async () => {
    await deleteEventStream(prefix)
  })

  it('skips a non-JSON message, keeps the connection, and moves the cursor past it', async () => {
    prefix = `cvt.evbad.${randomUUID().slice(0, 8)}`
    const warnings: object[] = []
    const logger = { debug: () => {}, error: () => {}, warn: (obj: object) => warnings.push(obj), info: () => {} }
    const stream = createRabbitMQEventStream({ url: AMQP_URL, prefix, logger })
    try {
      await stream.connect()
      await stream.publish([startedEvent(1)])
      const connection = await connect(AMQP_URL)
      const channel = await connection.createConfirmChannel()
      channel.sendToQueue(eventStreamQueue(prefix), Buffer.from('not json {'))
      await channel.waitForConfirms()
      await stream.publish([startedEvent(2)])
      channel.sendToQueue(eventStreamQueue(prefix), Buffer.from('still not json'))
      await channel.waitForConfirms()
      await connection.close()

      expect((await ids(stream, 500)).ids).toEqual(['run-1', 'run-2'])
      const oneByOne = await ids(stream, 1)
      expect(oneByOne.ids).toEqual(['run-1', 'run-2'])
      // The trailing garbage is behind the cursor: a read after it waits for new events, not for it again.
      await stream.publish([startedEvent(3)])
      const next = await stream.read({ after: oneByOne.cursor })
      expect(next.events.map((e) => ('id' in e.event ? e.event.id : '?'))).toEqual(['run-3'])
      expect(warnings).toHaveLength(1)
      expect(JSON.stringify(warnings)).not.toContain('not json')
    } finally {
      await stream.close()
    }
  }, 30_000)
})
