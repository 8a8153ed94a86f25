import type { Envelope } from '../contracts/envelope'
import type { SendSpan } from '../contracts/tracing'
import type { AppCore } from './app-core'

/** A publish inside a send span: the envelopes to publish (carrying the span's context), and the span's end. */
export interface TracedSend {
  readonly envelopes: readonly Envelope[]
  end(error?: unknown): void
}

/**
 * Open the send span of one publish when the app traces (undefined when it does not: nothing else to do). Called
 * right before the publish, in the caller's async context, so the span is a child of what the caller is doing. A
 * tracer that throws costs the publish its span, never the publish.
 */
export function traceSend(core: AppCore, envelopes: readonly Envelope[]): TracedSend | undefined {
  const tracing = core.tracing
  if (tracing === undefined || envelopes.length === 0) return undefined
  let span: SendSpan
  try {
    span = tracing.send(envelopes, { system: core.broker.name })
  } catch (error) {
    core.logger.warn({ err: error }, 'tracing.send threw; publishing without a span')
    return undefined
  }
  const trace = span.trace
  return {
    envelopes: trace === undefined ? envelopes : envelopes.map((envelope) => ({ ...envelope, trace })),
    end(error?: unknown) {
      try {
        span.end(error)
      } catch (failure) {
        core.logger.warn({ err: failure }, 'a span failed to end')
      }
    },
  }
}
