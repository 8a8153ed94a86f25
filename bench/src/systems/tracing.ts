import type { Tracing } from '@conveyor/core/adapter'
import { openTelemetryTracing } from '@conveyor/otel'
import { context } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'

/** What tracing on costs a system: a real SDK recording every span, exported in batches to nowhere. */
export interface BenchTracing {
  readonly tracing: Tracing
  /** Spans the exporter received (a check that tracing was really on). */
  exported(): number
  /** Flush, shut the provider down, and take the context manager out (other systems must not pay for it). */
  stop(): Promise<void>
}

/**
 * The OpenTelemetry SDK as a production app runs it — every span sampled and recorded, a `BatchSpanProcessor`, an
 * AsyncLocalStorage context manager — with an exporter that drops what it gets, so the cost measured is Conveyor's
 * spans and the SDK's, not a collector's network. The context manager is global while the instance lives: Node 20's
 * AsyncLocalStorage hooks every promise of the process, so it is removed again when the traced system closes.
 */
export function benchTracing(): BenchTracing {
  let count = 0
  const provider = new BasicTracerProvider({
    spanProcessors: [
      new BatchSpanProcessor(
        {
          export(spans: ReadableSpan[], done) {
            count += spans.length
            done({ code: 0 })
          },
          async shutdown() {},
        },
        { maxQueueSize: 65_536, maxExportBatchSize: 4_096, scheduledDelayMillis: 200 },
      ),
    ],
  })
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  return {
    tracing: openTelemetryTracing({ tracerProvider: provider, propagator: new W3CTraceContextPropagator() }),
    exported: () => count,
    async stop() {
      await provider.shutdown()
      context.disable()
    },
  }
}
