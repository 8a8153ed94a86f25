import type { Envelope } from '@conveyor/core/adapter'
import { openTelemetryTracing } from '@conveyor/otel'
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { beforeEach, describe, expect, it } from 'vitest'
import { installSdk } from './sdk'

const { exporter, tracer } = installSdk()
beforeEach(() => exporter.reset())

const envelope = (over: Partial<Envelope> = {}): Envelope => ({
  id: 'job-1',
  task: 'email.send',
  payload: null,
  queue: 'emails',
  priority: 3,
  attempt: 1,
  maxAttempts: 3,
  createdAt: Date.now(),
  ...over,
})

describe('openTelemetryTracing, span by span', () => {
  it('a send span is a PRODUCER child of the caller’s span and its W3C context goes into the message', () => {
    const tracing = openTelemetryTracing()
    const caller = tracer.startSpan('http POST /signup')
    const send = context.with(trace.setSpan(context.active(), caller), () =>
      tracing.send([envelope()], { system: 'redis' }),
    )
    send.end()
    caller.end()
    const [span] = exporter.getFinishedSpans().filter((s) => s.name === 'send emails')
    expect(span?.kind).toBe(SpanKind.PRODUCER)
    expect(span?.parentSpanContext?.spanId).toBe(caller.spanContext().spanId)
    expect(span?.spanContext().traceId).toBe(caller.spanContext().traceId)
    expect(span?.attributes).toMatchObject({
      'messaging.system': 'redis',
      'messaging.operation.name': 'send',
      'messaging.operation.type': 'send',
      'messaging.destination.name': 'emails',
      'messaging.message.id': 'job-1',
      'conveyor.task.name': 'email.send',
    })
    expect(send.trace?.traceparent).toBe(`00-${span?.spanContext().traceId}-${span?.spanContext().spanId}-01`)
  })

  it('a batch is one send span with the message count; several queues name no destination', () => {
    const tracing = openTelemetryTracing()
    tracing.send([envelope({ id: 'a' }), envelope({ id: 'b', queue: 'other' })], { system: 'rabbitmq' }).end()
    const [span] = exporter.getFinishedSpans()
    expect(span?.name).toBe('send')
    expect(span?.attributes['messaging.batch.message_count']).toBe(2)
    expect(span?.attributes['messaging.destination.name']).toBeUndefined()
    expect(span?.attributes['messaging.message.id']).toBeUndefined()
  })

  it('a process span continues the message’s context (parent and link), is active in the handler, records errors', () => {
    const tracing = openTelemetryTracing()
    const send = tracing.send([envelope()], { system: 'redis' })
    send.end()
    const sent = envelope({ attempt: 2, ...(send.trace ? { trace: send.trace } : {}) })
    const run = tracing.process(sent, { system: 'redis', deliveryCount: 1, workerId: 'host:1:1' })
    const inside = run.activate(() => trace.getActiveSpan()?.spanContext().spanId)
    const error = Object.assign(new Error('smtp down'), { code: 'SMTP_DOWN' })
    run.end({ outcome: 'retried', error, retryDelayMs: 2000 })

    const spans = exporter.getFinishedSpans()
    const producer = spans.find((s) => s.kind === SpanKind.PRODUCER)!
    const consumer = spans.find((s) => s.kind === SpanKind.CONSUMER)!
    expect(consumer.name).toBe('process emails')
    expect(inside).toBe(consumer.spanContext().spanId)
    expect(consumer.spanContext().traceId).toBe(producer.spanContext().traceId)
    expect(consumer.parentSpanContext?.spanId).toBe(producer.spanContext().spanId)
    expect(consumer.links[0]?.context.spanId).toBe(producer.spanContext().spanId)
    expect(consumer.attributes).toMatchObject({
      'messaging.operation.type': 'process',
      'messaging.message.id': 'job-1',
      'conveyor.task.attempt': 2,
      'conveyor.delivery.count': 1,
      'conveyor.worker.id': 'host:1:1',
      'conveyor.task.outcome': 'retried',
      'error.type': 'SMTP_DOWN',
    })
    expect(consumer.status).toEqual({ code: SpanStatusCode.ERROR, message: 'smtp down' })
    expect(consumer.events.map((e) => e.name)).toEqual(['conveyor.retry', 'exception'])
    expect(run.logFields()).toEqual({
      trace_id: consumer.spanContext().traceId,
      span_id: consumer.spanContext().spanId,
    })
  })

  it('a message without trace context starts a new trace, not a child of whatever the worker had active', () => {
    const tracing = openTelemetryTracing()
    const loop = tracer.startSpan('worker loop')
    const run = context.with(trace.setSpan(context.active(), loop), () =>
      tracing.process(envelope(), { system: 'memory', deliveryCount: 1, workerId: undefined }),
    )
    run.end({ outcome: 'dead-lettered', deadLetterReason: 'unknown-task' })
    loop.end()
    const consumer = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.CONSUMER)!
    expect(consumer.parentSpanContext).toBeUndefined()
    expect(consumer.spanContext().traceId).not.toBe(loop.spanContext().traceId)
    expect(consumer.attributes['conveyor.dead_letter.reason']).toBe('unknown-task')
    expect(consumer.attributes['error.type']).toBe('dead-lettered')
    expect(consumer.status.code).toBe(SpanStatusCode.ERROR)
  })
})
