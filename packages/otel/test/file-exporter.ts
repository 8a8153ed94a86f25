import { appendFileSync, existsSync, readFileSync } from 'node:fs'
import { type ExportResult, ExportResultCode } from '@opentelemetry/core'
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base'

/** What a test reads of a span another process finished. */
export interface SpanLine {
  readonly name: string
  readonly kind: number
  readonly traceId: string
  readonly spanId: string
  readonly parentSpanId: string | undefined
  readonly links: readonly string[]
  readonly attributes: Record<string, unknown>
  readonly status: { readonly code: number; readonly message?: string }
  readonly events: readonly string[]
  readonly pid: number
}

/** The SDK's exporter interface, writing each finished span as a JSON line: how a worker process reports its spans. */
export class FileSpanExporter implements SpanExporter {
  constructor(private readonly path: string) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const lines = spans.map((s) => {
      const line: SpanLine = {
        name: s.name,
        kind: s.kind,
        traceId: s.spanContext().traceId,
        spanId: s.spanContext().spanId,
        parentSpanId: s.parentSpanContext?.spanId,
        links: s.links.map((l) => l.context.spanId),
        attributes: { ...s.attributes },
        status: s.status,
        events: s.events.map((e) => e.name),
        pid: process.pid,
      }
      return `${JSON.stringify(line)}\n`
    })
    appendFileSync(this.path, lines.join(''))
    done({ code: ExportResultCode.SUCCESS })
  }

  async shutdown(): Promise<void> {}
}

export function readSpanLines(path: string): SpanLine[] {
  if (!existsSync(path)) return []
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as SpanLine)
}
