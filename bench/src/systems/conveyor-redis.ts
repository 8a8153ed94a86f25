import { namespace } from '../util/names'
import { deleteKeys, redisClient } from '../util/redis'
import { conveyorInstance } from './conveyor-app'
import { type BenchSystem, UnavailableError } from './system'

/** Conveyor on `@conveyor/redis` with the adapter's defaults (lease 10 s, fetch batch 256), events off. */
export const conveyorRedis: BenchSystem = conveyorRedisSystem(
  'conveyor-redis',
  'Conveyor app (createApp + task.enqueue + app.worker) on createRedisBroker, adapter defaults, events: false',
)

/**
 * The same with cross-process events on (`events: true`): every task event to the app's capped Redis stream. Like
 * `conveyor-redis` it has no result backend, so there is no task history to write (its cost comes with results).
 */
export const conveyorRedisEvents: BenchSystem = conveyorRedisSystem(
  'conveyor-redis-events',
  'conveyor-redis with events on: every task event to the Redis stream (no result backend, so no history)',
  { events: true },
)

/**
 * The same with OpenTelemetry tracing on (`@conveyor/otel` with the SDK recording every span, exported in batches
 * to nowhere): a send span per enqueue batch, a process span per run. For the tracing on ÷ off ratio.
 */
export const conveyorRedisTraced: BenchSystem = conveyorRedisSystem(
  'conveyor-redis-traced',
  'conveyor-redis with tracing: openTelemetryTracing() on the OpenTelemetry SDK (every span recorded, no-op exporter)',
  { traced: true },
)

/** The same with `collectMetrics(app)` counting every run (Prometheus counters and histograms), for its on ÷ off ratio. */
export const conveyorRedisMetrics: BenchSystem = conveyorRedisSystem(
  'conveyor-redis-metrics',
  'conveyor-redis with collectMetrics(app): every task event counted in the Prometheus metrics',
  { metrics: true },
)

/**
 * The same with the worker's `prefetch` at twice its concurrency (issue 18): the next fetch is in flight while a
 * handler runs, so at concurrency 1 a run does not wait a round trip for the next. An option, not the default: a
 * prefetched job waits under its lease while another runs, and another worker cannot take it meanwhile.
 */
export const conveyorRedisPrefetch: BenchSystem = conveyorRedisSystem(
  'conveyor-redis-prefetch',
  'conveyor-redis with app.worker({ prefetch: 2 × concurrency }): the next jobs fetched while handlers run',
  { prefetch: (concurrency) => concurrency * 2 },
)

interface Variant {
  /** Cross-process task events on (`events: true`). */
  readonly events?: boolean
  /** OpenTelemetry tracing through `@conveyor/otel`. */
  readonly traced?: boolean
  /** `collectMetrics(app)`. */
  readonly metrics?: boolean
  /** The worker's prefetch for a concurrency (the worker's default: the concurrency). */
  readonly prefetch?: (concurrency: number) => number
}

function conveyorRedisSystem(id: string, description: string, variant: Variant = {}): BenchSystem {
  const { events = false, traced = false, metrics = false, prefetch } = variant
  return {
    id,
    broker: 'redis',
    family: 'conveyor',
    description,
    // The variants exist for their ratios to conveyor-redis (processing).
    ...(events || traced || metrics || prefetch ? { scenarios: ['process'] } : {}),
    async create(env, attachTo) {
      // Loaded here, not at the top, so a broken adapter shows as n/a in its rows instead of stopping the whole bench.
      const { createRedisBroker } = await import('@conveyor/redis').catch((error: unknown) => {
        throw new UnavailableError(`@conveyor/redis does not load: ${(error as Error).message}`)
      })
      const ns = attachTo ?? namespace('conveyor')
      const broker = createRedisBroker({ url: env.redisUrl, prefix: ns, logger: false })
      if (!traced) return conveyorInstance(broker, ns, cleanupOf(env.redisUrl, ns), events, { metrics, prefetch })
      const { benchTracing } = await import('./tracing')
      const tracing = benchTracing()
      const cleanup = cleanupOf(env.redisUrl, ns)
      return conveyorInstance(broker, ns, () => tracing.stop().then(cleanup), events, { tracing: tracing.tracing })
    },
  }
}

function cleanupOf(url: string, ns: string) {
  return async () => {
    const redis = redisClient(url, `${ns}:cleanup`)
    try {
      await deleteKeys(redis, ns)
    } finally {
      await redis.quit()
    }
  }
}
