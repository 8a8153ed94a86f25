import { type AppMetrics, type AppOptions, type Broker, collectMetrics, createApp } from '@conveyor/core'
import type { BenchJob, ConsumeHooks, Consumer, SystemInstance } from './system'

const QUEUE = 'q'

/**
 * A Conveyor system through the public API only: `createApp`, `app.task`, `task.enqueue` / `enqueueMany`,
 * `app.worker`. No result backend, no logger and no cross-process events (`events: false`) unless `events` says
 * otherwise, so the numbers are the broker path plus core's worker, nothing else.
 */
export function conveyorInstance(
  broker: Broker,
  namespace: string,
  cleanup: () => Promise<void>,
  events: AppOptions['events'] = false,
  more: Pick<AppOptions, 'tracing'> & {
    readonly metrics?: boolean
    /** The worker's prefetch for a concurrency; the worker's default (the concurrency) when absent. */
    readonly prefetch?: (concurrency: number) => number | undefined
  } = {},
): SystemInstance {
  const { metrics: withMetrics, prefetch, ...options } = more
  const app = createApp({ broker, results: false, logger: false, defaults: { queue: QUEUE }, events, ...options })
  // Prometheus metrics counted as a scraped app counts them (every task event into counters and histograms).
  const metrics: AppMetrics | undefined = withMetrics ? collectMetrics(app, { queues: [QUEUE] }) : undefined
  let hooks: ConsumeHooks | undefined
  const noop = app.task('bench.noop', async (job: BenchJob) => {
    hooks?.onStart?.(job)
    if (hooks?.hold) await hooks.hold()
  })
  const enqueue = async (job: BenchJob) => {
    await noop.enqueue(job)
  }
  let closed: Promise<void> | undefined
  return {
    namespace,
    enqueue,
    // `task.enqueueMany`: one batch validated and encoded up front, published in as few round trips as the broker
    // allows (`Broker.publishMany` where the adapter has it).
    async enqueueBulk(jobs) {
      await noop.enqueueMany(jobs)
    },
    async fill(jobs) {
      for (let i = 0; i < jobs.length; i += 1000) await noop.enqueueMany(jobs.slice(i, i + 1000))
    },
    async consume(concurrency, consumeHooks): Promise<Consumer> {
      hooks = consumeHooks
      const off = app.events.on('task.succeeded', () => consumeHooks.onDone())
      const worker = app.worker({ queues: [QUEUE], concurrency, prefetch: prefetch?.(concurrency) })
      await worker.start()
      let stopping: Promise<void> | undefined
      return {
        stop() {
          stopping ??= worker.stop({ timeoutMs: 5_000 }).then(off)
          return stopping
        },
      }
    },
    close() {
      metrics?.close()
      closed ??= app.close({ timeoutMs: 5_000 }).then(cleanup)
      return closed
    },
  }
}
