import { type Broker, createApp } from '@conveyor/core'
import type { BenchJob, ConsumeHooks, Consumer, SystemInstance } from './system'

const QUEUE = 'q'

/**
 * A Conveyor system through the public API only: `createApp`, `app.task`, `task.enqueue`, `app.worker`. No result
 * backend and no logger, so the numbers are the broker path plus core's worker, nothing else.
 */
export function conveyorInstance(broker: Broker, namespace: string, cleanup: () => Promise<void>): SystemInstance {
  const app = createApp({ broker, results: false, logger: false, defaults: { queue: QUEUE } })
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
    async fill(jobs) {
      // No bulk enqueue in the API yet: fill with 256 enqueues in flight.
      let next = 0
      const lane = async () => {
        while (next < jobs.length) await enqueue(jobs[next++]!)
      }
      await Promise.all(Array.from({ length: 256 }, lane))
    },
    async consume(concurrency, consumeHooks): Promise<Consumer> {
      hooks = consumeHooks
      const off = app.events.on('task.succeeded', () => consumeHooks.onDone())
      const worker = app.worker({ queues: [QUEUE], concurrency })
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
      closed ??= app.close({ timeoutMs: 5_000 }).then(cleanup)
      return closed
    },
  }
}
