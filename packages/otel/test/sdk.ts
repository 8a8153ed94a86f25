import { context, propagation, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'

/**
 * The OpenTelemetry SDK as an application sets it up (global provider, AsyncLocalStorage context, W3C propagation),
 * exporting to memory. Once per test file (each file runs in its own process).
 */
export function installSdk() {
  const exporter = new InMemorySpanExporter()
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] })
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  trace.setGlobalTracerProvider(provider)
  const tracer = provider.getTracer('test')
  return { exporter, provider, tracer }
}

/** One line per span (name, kind, parent) for failure messages. */
export function describeSpans(spans: readonly ReadableSpan[]): string {
  return spans
    .map((s) => `${s.name} kind=${s.kind} trace=${s.spanContext().traceId} parent=${s.parentSpanContext?.spanId}`)
    .join('\n')
}
