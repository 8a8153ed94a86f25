/**
 * OpenTelemetry traces for Conveyor: `createApp({ tracing: openTelemetryTracing() })`. Depends on
 * `@opentelemetry/api` only (a peer dependency: the one your SDK uses); bring the SDK and exporter you like.
 *
 * @packageDocumentation
 * @module @conveyor/otel
 */
export { type OpenTelemetryTracingOptions, openTelemetryTracing, TRACER_NAME } from './tracing'
