import { randomUUID } from 'node:crypto'
import { readAllEvents } from '@conveyor/conformance'
import type { StoredEvent } from '@conveyor/core/adapter'
import { createRabbitMQEventStream, eventStreamQueue } from '@conveyor/rabbitmq'
import { AMQP_URL, startedEvent } from '@conveyor/test-support'
import { connect } from 'amqplib'
import { afterEach, describe, expect, it } from 'vitest'
import { batchBodies, MAX_BATCH_CHARS } from '../src/event-stream-writer'
import { deleteEventStream } from './helpers'

const idOf = (stored: StoredEvent) => ('id' in stored.event ? stored.event.id : undefined)

describe('rabbitmq event stream batches', () => {
  let prefix = ''
  afterEach(async () => {
    await deleteEventStream(prefix)
  })

  it('cuts a batch into JSON arrays of at most MAX_BATCH_CHARS; a lone event stays a bare object', () => {
    expect(batchBodies(['{"a":1}'])).toEqual(['{"a":1}'])
    expect(batchBodies(['{"a":1}', '{"a":2}'])).toEqual(['[{"a":1},{"a":2}]'])
    const big = `{"x":"${'y'.repeat(MAX_BATCH_CHARS / 2)}"}`
    const bodies = batchBodies([big, big, big, '{"a":1}'])
    expect(bodies.every((body) => body.length <= MAX_BATCH_CHARS || !body.startsWith('['))).toBe(true)
    expect(bodies.flatMap((body) => (body.startsWith('[') ? JSON.parse(body) : [JSON.parse(body)]))).toHaveLength(4)
  })

  it('writes a batch as one message, reads its events at <offset>.<index>, after one-event messages too', async () => {
    prefix = `cvt.evb.${randomUUID().slice(0, 8)}`
    const stream = createRabbitMQEventStream({ url: AMQP_URL, prefix })
    await stream.connect()
    // A one-event message as an earlier version wrote it (a bare object), then batches.
    const connection = await connect(AMQP_URL)
    const channel = await connection.createConfirmChannel()
    channel.sendToQueue(eventStreamQueue(prefix), Buffer.from(JSON.stringify(startedEvent(0))))
    await channel.waitForConfirms()
    await connection.close()
    await stream.publish(Array.from({ length: 7 }, (_, n) => startedEvent(1 + n)))
    await stream.publish([startedEvent(8)])
    await stream.publish(Array.from({ length: 3 }, (_, n) => startedEvent(9 + n)))

    const all = await readAllEvents(stream, 3)
    expect(all.map(idOf)).toEqual(Array.from({ length: 12 }, (_, n) => `run-${n}`))
    const [legacy, ...rest] = all.map((e) => e.offset)
    expect(legacy).toMatch(/^\d+$/)
    expect(rest.slice(0, 7)).toEqual(Array.from({ length: 7 }, (_, i) => `${Number(legacy) + 1}.${i}`))
    expect(rest[7]).toMatch(/^\d+$/)
    // Resuming after an event inside a batch, or after a one-event message, misses and repeats nothing.
    const afterFourth = await stream.read({ after: all[4]!.offset }, { limit: 100 })
    expect(afterFourth.events.map(idOf)).toEqual(all.slice(5).map(idOf))
    const afterLegacy = await stream.read({ after: legacy! }, { limit: 100 })
    expect(afterLegacy.events).toHaveLength(11)
    await expect(stream.read({ after: '3.x' })).rejects.toMatchObject({ code: 'CONVEYOR_INVALID_OPTIONS' })
    await expect(stream.read({ after: '-1.0' })).rejects.toMatchObject({ code: 'CONVEYOR_INVALID_OPTIONS' })
    await stream.close()
  })
})
