import { Writable } from 'node:stream'
import { createApp, fixed } from '@conveyor/core'
import { openTelemetryTracing } from '@conveyor/otel'
import { until } from '@conveyor/test-support'
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { describeSpans, installSdk } from './sdk'

const { exporter, tracer } = installSdk()
const apps: ReturnType<typeof createApp>[] = []
beforeEach(() => exporter.reset())
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()))
})

function logged() {
  const lines: Record<string, unknown>[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line))
      done()
    },
  })
  return { logger: pino({ level: 'info' }, stream), lines }
}

/** Waits on spans; a failure lists the spans that did finish. */
const untilSpans = (check: () => boolean, ms = 5000) =>
  until(check, ms, () => `spans; those finished:\n${describeSpans(exporter.getFinishedSpans())}`, { everyMs: 10 })

describe('an app with openTelemetryTracing (memory broker)', () => {
  it('one trace from the caller through send, the failed attempt, the retry, and what the handler enqueued', async () => {
    const { logger, lines } = logged()
    const app = createApp({ broker: 'memory://', logger, tracing: openTelemetryTracing() })
    apps.push(app)
    let calls = 0
    const notify = app.task('t.notify', async () => 'sent', { queue: 'trace' })
    const charge = app.task(
      't.charge',
      async (amount: number, ctx) => {
        ctx.logger.info('charging')
        if (++calls === 1) throw Object.assign(new Error('card declined'), { code: 'DECLINED' })
        await notify.enqueue(amount)
        return amount
      },
      { queue: 'trace', retry: { maxAttempts: 3, backoff: fixed(10) } },
    )
    const worker = app.worker({ queues: ['trace'] })
    await worker.start()

    const request = tracer.startSpan('POST /checkout', { kind: SpanKind.SERVER })
    const handle = await context.with(trace.setSpan(context.active(), request), () => charge.enqueue(42))
    request.end()
    await handle.result()
    await untilSpans(() => exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CONSUMER).length === 3)

    const spans = exporter.getFinishedSpans()
    const traceId = request.spanContext().traceId
    expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([traceId]))
    const send = spans.find((s) => s.name === 'send trace' && s.attributes['conveyor.task.name'] === 't.charge')!
    expect(send.parentSpanContext?.spanId).toBe(request.spanContext().spanId)
    const runs = spans
      .filter((s) => s.kind === SpanKind.CONSUMER && s.attributes['conveyor.task.name'] === 't.charge')
      .sort((a, b) => Number(a.attributes['conveyor.task.attempt']) - Number(b.attributes['conveyor.task.attempt']))
    expect(runs.map((s) => s.attributes['conveyor.task.outcome'])).toEqual(['retried', 'succeeded'])
    // Each attempt is its own span under the producer's.
    for (const run of runs) expect(run.parentSpanContext?.spanId).toBe(send.spanContext().spanId)
    expect(runs[0]!.status.code).toBe(SpanStatusCode.ERROR)
    expect(runs[0]!.attributes['error.type']).toBe('DECLINED')
    expect(runs[0]!.events.map((e) => e.name)).toContain('exception')
    expect(runs[1]!.status.code).toBe(SpanStatusCode.UNSET)
    expect(runs[1]!.attributes).toMatchObject({ 'messaging.system': 'memory', 'messaging.message.id': handle.id })
    // The enqueue inside the handler is a child of that run, and so is its own run.
    const childSend = spans.find(
      (s) => s.kind === SpanKind.PRODUCER && s.attributes['conveyor.task.name'] === 't.notify',
    )!
    expect(childSend.parentSpanContext?.spanId).toBe(runs[1]!.spanContext().spanId)
    const childRun = spans.find(
      (s) => s.kind === SpanKind.CONSUMER && s.attributes['conveyor.task.name'] === 't.notify',
    )!
    expect(childRun.parentSpanContext?.spanId).toBe(childSend.spanContext().spanId)

    // Log lines written in the task carry the run's span and the worker.
    const charging = lines.filter((l) => l.msg === 'charging')
    expect(charging).toHaveLength(2)
    expect(charging[1]).toMatchObject({
      trace_id: traceId,
      span_id: runs[1]!.spanContext().spanId,
      worker: worker.id,
      task: 't.charge',
    })
  })

  it('a dead-lettered run is an ERROR span with the reason; a task without a span context starts its trace', async () => {
    const app = createApp({ broker: 'memory://', logger: false, tracing: openTelemetryTracing() })
    apps.push(app)
    const worker = app.worker({ queues: ['dead'] })
    await worker.start()
    await app.enqueue('t.nobody', null, { queue: 'dead' })
    await untilSpans(() => exporter.getFinishedSpans().some((s) => s.kind === SpanKind.CONSUMER))
    const run = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.CONSUMER)!
    expect(run.attributes['conveyor.task.outcome']).toBe('dead-lettered')
    expect(run.attributes['conveyor.dead_letter.reason']).toBe('unknown-task')
    expect(run.attributes['error.type']).toBe('CONVEYOR_UNKNOWN_TASK')
    expect(run.events.map((e) => e.name)).toContain('conveyor.dead_letter')
    const send = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.PRODUCER)!
    expect(send.parentSpanContext).toBeUndefined()
    expect(run.parentSpanContext?.spanId).toBe(send.spanContext().spanId)
  })

  it('a tracer that throws costs spans, never enqueues or runs', async () => {
    const app = createApp({
      broker: 'memory://',
      logger: false,
      tracing: {
        send() {
          throw new Error('tracer bug')
        },
        process() {
          throw new Error('tracer bug')
        },
      },
    })
    apps.push(app)
    const ok = app.task('t.ok', async (n: number) => n + 1, { queue: 'broken' })
    await app.worker({ queues: ['broken'] }).start()
    expect(await (await ok.enqueue(1)).result()).toBe(2)
    expect((await app.enqueueMany('t.ok', [1, 2], { queue: 'broken' })).length).toBe(2)
  })

  it('enqueueMany is one send span for the batch, each run a child of it', async () => {
    const app = createApp({ broker: 'memory://', logger: false, tracing: openTelemetryTracing() })
    apps.push(app)
    const double = app.task('t.double', async (n: number) => n * 2, { queue: 'batch' })
    await app.worker({ queues: ['batch'] }).start()
    const handles = await double.enqueueMany([1, 2, 3])
    await Promise.all(handles.map((h) => h.result()))
    await untilSpans(() => exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CONSUMER).length === 3)
    const sends = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.PRODUCER)
    expect(sends).toHaveLength(1)
    expect(sends[0]!.attributes['messaging.batch.message_count']).toBe(3)
    for (const run of exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CONSUMER)) {
      expect(run.parentSpanContext?.spanId).toBe(sends[0]!.spanContext().spanId)
    }
  })
})
