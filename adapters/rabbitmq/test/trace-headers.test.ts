import type { Delivery } from '@conveyor/core/adapter'
import { encodeEnvelope } from '@conveyor/core/adapter'
import { envelope, eventually, rawChannel } from '@conveyor/test-support'
import { afterEach, describe, expect, it } from 'vitest'
import { cleanup, makeBroker, uniquePrefix } from './helpers'

describe('rabbitmq trace context in AMQP headers', () => {
  let prefix = ''
  afterEach(async () => cleanup(prefix))

  it('takes the trace context from AMQP headers when a foreign producer put it only there', async () => {
    prefix = uniquePrefix('trace-headers')
    const broker = makeBroker(prefix)
    await broker.declare({ name: 'q' })
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
    const raw = await rawChannel()
    try {
      // An OpenTelemetry-instrumented AMQP client: the context in headers, an envelope body without `trace`.
      raw.channel.sendToQueue(
        broker.queueNames('q').work,
        Buffer.from(encodeEnvelope(envelope('q', { id: 'foreign' }))),
        {
          headers: { traceparent, tracestate: 'congo=t61', other: 'kept out' },
        },
      )
      raw.channel.sendToQueue(broker.queueNames('q').work, Buffer.from(encodeEnvelope(envelope('q', { id: 'plain' }))))
      await eventually(async () => (await raw.channel.checkQueue(broker.queueNames('q').work)).messageCount === 2)
    } finally {
      await raw.close()
    }
    const got: Delivery[] = []
    await broker.consume('q', (d) => got.push(d), { prefetch: 5 })
    await eventually(() => got.length === 2)
    const byId = Object.fromEntries(got.map((d) => [d.envelope.id, d.envelope]))
    expect(byId.foreign?.trace).toEqual({ traceparent, tracestate: 'congo=t61' })
    expect(byId.plain?.trace).toBeUndefined()
    await Promise.all(got.map((d) => d.ack()))
    await broker.close()
  })
})
