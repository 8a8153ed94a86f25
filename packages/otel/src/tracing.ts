import type {
  Envelope,
  ProcessInfo,
  ProcessResult,
  ProcessSpan,
  SendSpan,
  Tracing,
  TracingInfo,
} from '@conveyor/core/adapter'
import {
  type Attributes,
  type Context,
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapPropagator,
  type TracerProvider,
  trace,
} from '@opentelemetry/api'
import * as a from './attributes'

/** The instrumentation scope of Conveyor's spans (`otel.scope.name` in most backends). */
export const TRACER_NAME = '@conveyor/otel'

export interface OpenTelemetryTracingOptions {
  /**
   * Where spans go. Defaults to the global provider, the one the SDK registers (`NodeSDK.start()`,
   * `provider.register()`, `trace.setGlobalTracerProvider`), looked up when a span starts, so it may be registered
   * after the app is made.
   */
  readonly tracerProvider?: TracerProvider
  /**
   * How the trace context is written into messages and read back. Defaults to the global propagator: W3C trace
   * context (`traceparent`, `tracestate`) and baggage with the Node SDK's defaults. Without any registered
   * propagator nothing crosses the broker: the worker's spans start new traces.
   */
  readonly propagator?: TextMapPropagator
}

/**
 * OpenTelemetry traces for an app: `createApp({ tracing: openTelemetryTracing() })`.
 *
 * - Each publish (`enqueue`, an `enqueueMany` batch, a workflow's members) is a PRODUCER span `send <queue>`, a child
 *   of the caller's active span; its context goes into the message (`Envelope.trace`, which RabbitMQ also copies to
 *   AMQP headers).
 * - Each delivery a worker processes is a CONSUMER span `process <queue>`, a child of that context (and linked to
 *   it, as the messaging conventions advise), active while the handler runs: what the handler does, enqueues
 *   included, is recorded under it. Retries are further `process` spans of the same trace; a failed attempt has
 *   status ERROR with `error.type` and the exception; a retry and a dead letter are span events.
 */
export function openTelemetryTracing(options: OpenTelemetryTracingOptions = {}): Tracing {
  const provider = () => options.tracerProvider ?? trace.getTracerProvider()
  const propagator = (): TextMapPropagator => options.propagator ?? propagation

  return {
    send(envelopes: readonly Envelope[], info: TracingInfo): SendSpan {
      const first = envelopes[0]
      if (first === undefined) return { trace: undefined, end() {} }
      // A context the caller passed in (`enqueue(…, { trace })`) is the parent; otherwise whatever is active.
      const parent = first.trace ? propagator().extract(context.active(), first.trace, defaultTextMapGetter) : undefined
      const queue = envelopes.every((e) => e.queue === first.queue) ? first.queue : undefined
      const attributes = sendAttributes(envelopes, queue, info)
      const span = provider()
        .getTracer(TRACER_NAME)
        .startSpan(queue === undefined ? 'send' : `send ${queue}`, { kind: SpanKind.PRODUCER, attributes }, parent)
      const carrier: Record<string, string> = {}
      propagator().inject(trace.setSpan(parent ?? context.active(), span), carrier, defaultTextMapSetter)
      return {
        trace: Object.keys(carrier).length > 0 ? carrier : undefined,
        end(error?: unknown) {
          if (error !== undefined) recordError(span, error)
          span.end()
        },
      }
    },

    process(envelope: Envelope, info: ProcessInfo): ProcessSpan {
      // Never the worker loop's own context: a message without a trace starts a new one.
      const producer = envelope.trace
        ? propagator().extract(ROOT_CONTEXT, envelope.trace, defaultTextMapGetter)
        : ROOT_CONTEXT
      const producerSpan = trace.getSpanContext(producer)
      const span = provider()
        .getTracer(TRACER_NAME)
        .startSpan(
          `process ${envelope.queue}`,
          {
            kind: SpanKind.CONSUMER,
            attributes: processAttributes(envelope, info),
            ...(producerSpan && isSpanContextValid(producerSpan) ? { links: [{ context: producerSpan }] } : {}),
          },
          producer,
        )
      const active: Context = trace.setSpan(producer, span)
      return {
        activate: (fn) => context.with(active, fn),
        logFields() {
          const { traceId, spanId } = span.spanContext()
          return isSpanContextValid(span.spanContext()) ? { trace_id: traceId, span_id: spanId } : undefined
        },
        end(result: ProcessResult) {
          endProcess(span, result)
        },
      }
    },
  }
}

function sendAttributes(envelopes: readonly Envelope[], queue: string | undefined, info: TracingInfo): Attributes {
  const first = envelopes[0]!
  const attributes: Attributes = {
    [a.MESSAGING_SYSTEM]: info.system,
    [a.MESSAGING_OPERATION_NAME]: 'send',
    [a.MESSAGING_OPERATION_TYPE]: 'send',
  }
  if (queue !== undefined) attributes[a.MESSAGING_DESTINATION_NAME] = queue
  if (envelopes.length === 1) {
    attributes[a.MESSAGING_MESSAGE_ID] = first.id
    attributes[a.CONVEYOR_TASK_NAME] = first.task
    attributes[a.CONVEYOR_TASK_PRIORITY] = first.priority
    if (first.rootId !== undefined) attributes[a.MESSAGING_MESSAGE_CONVERSATION_ID] = first.rootId
  } else {
    attributes[a.MESSAGING_BATCH_MESSAGE_COUNT] = envelopes.length
    if (envelopes.every((e) => e.task === first.task)) attributes[a.CONVEYOR_TASK_NAME] = first.task
  }
  return attributes
}

function processAttributes(envelope: Envelope, info: ProcessInfo): Attributes {
  const attributes: Attributes = {
    [a.MESSAGING_SYSTEM]: info.system,
    [a.MESSAGING_OPERATION_NAME]: 'process',
    [a.MESSAGING_OPERATION_TYPE]: 'process',
    [a.MESSAGING_DESTINATION_NAME]: envelope.queue,
    [a.MESSAGING_MESSAGE_ID]: envelope.id,
    [a.CONVEYOR_TASK_NAME]: envelope.task,
    [a.CONVEYOR_TASK_ATTEMPT]: envelope.attempt,
    [a.CONVEYOR_TASK_MAX_ATTEMPTS]: envelope.maxAttempts,
    [a.CONVEYOR_DELIVERY_COUNT]: info.deliveryCount,
  }
  if (envelope.rootId !== undefined) attributes[a.MESSAGING_MESSAGE_CONVERSATION_ID] = envelope.rootId
  if (envelope.parentId !== undefined) attributes[a.CONVEYOR_PARENT_ID] = envelope.parentId
  if (info.workerId !== undefined) attributes[a.CONVEYOR_WORKER_ID] = info.workerId
  return attributes
}

/** Outcomes where the processing itself failed: the span's status is ERROR. */
const FAILED = new Set(['retried', 'failed', 'dead-lettered'])

function endProcess(span: Span, result: ProcessResult): void {
  span.setAttribute(a.CONVEYOR_TASK_OUTCOME, result.outcome)
  if (result.outcome === 'retried') {
    span.addEvent('conveyor.retry', {
      ...(result.retryDelayMs !== undefined ? { [a.CONVEYOR_RETRY_DELAY_MS]: result.retryDelayMs } : {}),
    })
  }
  if (result.outcome === 'dead-lettered') {
    const reason = result.deadLetterReason ?? 'unknown'
    span.setAttribute(a.CONVEYOR_DEAD_LETTER_REASON, reason)
    span.addEvent('conveyor.dead_letter', { [a.CONVEYOR_DEAD_LETTER_REASON]: reason })
  }
  if (result.error !== undefined) recordError(span, result.error)
  else if (FAILED.has(result.outcome)) {
    span.setAttribute(a.ERROR_TYPE, result.outcome)
    span.setStatus({ code: SpanStatusCode.ERROR, message: result.outcome })
  }
  span.end()
}

/** An `Error`, or the `ErrorInfo` Conveyor keeps of one (`{ name, message, code?, stack? }`). */
function recordError(span: Span, error: unknown): void {
  const e = (typeof error === 'object' && error !== null ? error : { message: String(error) }) as {
    name?: unknown
    message?: unknown
    code?: unknown
    stack?: unknown
  }
  const name = typeof e.name === 'string' ? e.name : 'Error'
  const message = typeof e.message === 'string' ? e.message : String(error)
  const type = typeof e.code === 'string' && e.code !== '' ? e.code : name
  span.recordException({ name, message, ...(typeof e.stack === 'string' ? { stack: e.stack } : {}) })
  span.setAttribute(a.ERROR_TYPE, type)
  span.setStatus({ code: SpanStatusCode.ERROR, message })
}
