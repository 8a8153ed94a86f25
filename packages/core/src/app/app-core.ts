import type { Broker } from '../contracts/broker'
import type { ResultBackend } from '../contracts/result-backend'
import type { Tracing } from '../contracts/tracing'
import type { AppEvents } from '../events/app-events'
import { type Logger, resolveLogger } from '../logging/logger'
import { TaskMetricsRegistry } from '../metrics/task-metrics'
import type { CoordinationStore } from '../ops/coordination'
import { createMemoryCoordination } from '../ops/memory-coordination'
import { createRouter } from '../routing/router'
import type { RegisteredTask } from '../worker/runtime'
import { createAppEvents } from './app-events-setup'
import type { AppDefaults, AppOptions } from './options'
import { resolveBroker, resolveResults } from './resolve'
import { checkDefaults } from './task-settings'

/** What every part of an app shares: its stores, its task registry, its routes, and lazy connecting. */
export interface AppCore {
  readonly broker: Broker
  readonly results: ResultBackend | undefined
  readonly logger: Logger
  readonly events: AppEvents
  readonly coordination: CoordinationStore
  readonly route: ReturnType<typeof createRouter>
  /** Tasks known to the app by name: declared (enqueued by declaration) or implemented here (with a handler). */
  readonly registry: Map<string, RegisteredTask>
  readonly defaults: AppDefaults
  readonly defaultQueue: string
  readonly maxPayloadBytes: number | undefined
  /** `AppOptions.tracing`: undefined when the app does not trace (checked once per publish and per run). */
  readonly tracing: Tracing | undefined
  /** What `ctx.metrics` records into (`AppOptions.taskMetrics`). */
  readonly taskMetrics: TaskMetricsRegistry
  /** Connect the broker and the result backend, once (every caller waits for the same connect; a failure is not kept). */
  ready(): Promise<void>
  /** Declare a queue on the broker once per app (a failed declare is tried again next time). */
  declareQueue(queue: string): Promise<void>
}

/** Resolve the app's options into its shared parts; nothing connects until `ready()` is first called. */
export function createAppCore(options: AppOptions): AppCore {
  const adapters = options.adapters ?? []
  const defaults = options.defaults ?? {}
  checkDefaults(defaults)
  const logger = resolveLogger(options.logger)
  const broker = resolveBroker(options.broker, adapters, logger)
  const results = resolveResults(options.results, options.broker, adapters, logger)
  const declared = new Map<string, Promise<void>>()
  let connecting: Promise<void> | undefined

  const ready = () => {
    if (connecting === undefined) {
      const attempt = Promise.all([broker.connect(), results?.connect()]).then(() => undefined)
      // A failed connect is not kept: the server may be up by the next call, which connects again.
      attempt.catch(() => {
        if (connecting === attempt) connecting = undefined
      })
      connecting = attempt
    }
    return connecting
  }

  return {
    broker,
    results,
    logger,
    events: createAppEvents(options.events, broker, results, logger),
    coordination: options.coordination ?? createMemoryCoordination(),
    route: createRouter(options.routes),
    registry: new Map(),
    defaults,
    defaultQueue: defaults.queue ?? 'default',
    maxPayloadBytes: options.maxPayloadBytes,
    tracing: options.tracing,
    taskMetrics: new TaskMetricsRegistry(options.taskMetrics),
    ready,
    declareQueue(queue: string): Promise<void> {
      let done = declared.get(queue)
      if (done === undefined) {
        done = ready().then(() => broker.declare({ name: queue }))
        done.catch(() => declared.delete(queue))
        declared.set(queue, done)
      }
      return done
    },
  }
}
