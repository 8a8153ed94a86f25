import { Queue, Worker } from 'bullmq'
import { namespace } from '../util/names'
import { deleteKeys, redisClient, redisTarget } from '../util/redis'
import type { BenchJob, BenchSystem, Consumer } from './system'

const QUEUE = 'q'
/** Keep no history, so BullMQ is not penalised for a feature the others do not have. */
const JOB_OPTIONS = { removeOnComplete: true, removeOnFail: true } as const

/** BullMQ, the library users would pick instead, tuned fairly: no job history, default lock settings. */
export const bullmq: BenchSystem = {
  id: 'bullmq',
  broker: 'redis',
  family: 'bullmq',
  description: 'BullMQ 6.7.0: Queue.add / addBulk, Worker, removeOnComplete + removeOnFail',
  async create(env, attachTo) {
    const ns = attachTo ?? namespace('bullmq')
    const target = redisTarget(env.redisUrl)
    const connection = { ...target, maxRetriesPerRequest: null, connectionName: `${ns}:queue` }
    const queue = new Queue<BenchJob>(QUEUE, { connection, prefix: ns })
    await queue.waitUntilReady()
    const workers = new Set<Worker<BenchJob>>()
    return {
      namespace: ns,
      async enqueue(job) {
        await queue.add('noop', job, JOB_OPTIONS)
      },
      async enqueueBulk(jobs) {
        await queue.addBulk(jobs.map((data) => ({ name: 'noop', data, opts: JOB_OPTIONS })))
      },
      async fill(jobs) {
        for (let i = 0; i < jobs.length; i += 1000) {
          await queue.addBulk(jobs.slice(i, i + 1000).map((data) => ({ name: 'noop', data, opts: JOB_OPTIONS })))
        }
      },
      async consume(concurrency, hooks): Promise<Consumer> {
        const worker = new Worker<BenchJob>(
          QUEUE,
          async (job) => {
            hooks.onStart?.(job.data)
            if (hooks.hold) await hooks.hold()
          },
          {
            connection: { ...target, maxRetriesPerRequest: null, connectionName: `${ns}:worker` },
            prefix: ns,
            concurrency,
            removeOnComplete: { count: 0 },
            removeOnFail: { count: 0 },
          },
        )
        worker.on('completed', () => hooks.onDone())
        worker.on('error', (error) => console.error(`[bench] [bullmq] worker error: ${error.message}`))
        workers.add(worker)
        await worker.waitUntilReady()
        let stopping: Promise<void> | undefined
        return {
          stop() {
            stopping ??= worker.close()
            return stopping
          },
        }
      },
      async close() {
        await Promise.all([...workers].map((worker) => worker.close()))
        await queue.obliterate({ force: true }).catch(() => undefined)
        await queue.close()
        const redis = redisClient(env.redisUrl, `${ns}:cleanup`)
        try {
          await deleteKeys(redis, ns)
        } finally {
          await redis.quit()
        }
      },
    }
  },
}
