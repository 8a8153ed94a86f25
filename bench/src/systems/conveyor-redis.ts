import { namespace } from '../util/names'
import { deleteKeys, redisClient } from '../util/redis'
import { conveyorInstance } from './conveyor-app'
import { type BenchSystem, UnavailableError } from './system'

/** Conveyor on `@conveyor/redis` with the adapter's defaults (lease 10 s, fetch batch 256), events off. */
export const conveyorRedis: BenchSystem = conveyorRedisSystem(
  'conveyor-redis',
  'Conveyor app (createApp + task.enqueue + app.worker) on createRedisBroker, adapter defaults, events: false',
  false,
)

/**
 * The same with cross-process events on (`events: true`): every task event to the app's capped Redis stream. Like
 * `conveyor-redis` it has no result backend, so there is no task history to write (its cost comes with results).
 */
export const conveyorRedisEvents: BenchSystem = conveyorRedisSystem(
  'conveyor-redis-events',
  'conveyor-redis with events on: every task event to the Redis stream (no result backend, so no history)',
  true,
)

/**
 * The same with OpenTelemetry tracing on (`@conveyor/otel` with the SDK recording every span, exported in batches
 * to nowhere): a send span per enqueue batch, a process span per run. For the tracing on ÷ off ratio.
 */
export const conveyorRedisTraced: BenchSystem = conveyorRedisSystem(
  'conveyor-redis-traced',
  'conveyor-redis with tracing: openTelemetryTracing() on the OpenTelemetry SDK (every span recorded, no-op exporter)',
  false,
  true,
)

/** The same with `collectMetrics(app)` counting every run (Prometheus counters and histograms), for its on ÷ off ratio. */
export const conveyorRedisMetrics: BenchSystem = conveyorRedisSystem(
  'conveyor-redis-metrics',
  'conveyor-redis with collectMetrics(app): every task event counted in the Prometheus metrics',
  false,
  false,
  true,
)

function conveyorRedisSystem(
  id: string,
  description: string,
  events: boolean,
  traced = false,
  metrics = false,
): BenchSystem {
  return {
    id,
    broker: 'redis',
    family: 'conveyor',
    description,
    // The events and tracing variants exist for their on ÷ off ratios (processing).
    ...(events || traced || metrics ? { scenarios: ['process'] } : {}),
    async create(env, attachTo) {
      // Loaded here, not at the top, so a broken adapter shows as n/a in its rows instead of stopping the whole bench.
      const { createRedisBroker } = await import('@conveyor/redis').catch((error: unknown) => {
        throw new UnavailableError(`@conveyor/redis does not load: ${(error as Error).message}`)
      })
      const ns = attachTo ?? namespace('conveyor')
      const broker = createRedisBroker({ url: env.redisUrl, prefix: ns, logger: false })
      if (!traced) return conveyorInstance(broker, ns, cleanupOf(env.redisUrl, ns), events, { metrics })
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
