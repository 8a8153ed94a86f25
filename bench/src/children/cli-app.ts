/**
 * The app module `conveyor worker` loads in the multi-process scenario (`--app bench/src/children/cli-app.ts`): one
 * task on the Redis queue the parent bench fills, under the prefix it passes in `BENCH_PREFIX`. The handler does a
 * fixed amount of CPU work (`BENCH_WORK_ITERATIONS` loop iterations, about 0.2 ms by default), because what
 * `-P` buys is cores for handlers: with a no-op handler every process mostly waits on the one Redis server.
 */
import { createApp } from '@conveyor/core'
import { createRedisBroker } from '@conveyor/redis'

const prefix = process.env.BENCH_PREFIX
if (!prefix) throw new Error('[bench] cli-app: BENCH_PREFIX is not set')
const iterations = Number(process.env.BENCH_WORK_ITERATIONS ?? 200_000)

export const app = createApp({
  broker: createRedisBroker({ url: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379', prefix, logger: false }),
  results: false,
  logger: false,
  events: false,
  defaults: { queue: 'q' },
})

/**
 * The work, in a plain function the handler calls. With the loop inside the async handler itself V8 compiled it
 * differently from one process to the next (sometimes not at all): one child then spent 2–6× the CPU per job of the
 * other, which made `-P 2` look bimodal (docs/performance.md, 3 Dec; tools/processes-split.ts shows it). `Math.imul`
 * keeps the arithmetic int32: `x * 31` overflowed into doubles, and how V8 compiled that varied 330–900 µs per job.
 */
function work(seed: number): number {
  let x = seed
  for (let i = 0; i < iterations; i++) x = (Math.imul(x, 31) + i) | 0
  return x
}

// Returned (and dropped, there is no result backend) so the loop is not optimised away.
app.task('bench.cpu', async (job: { i: number }) => work(job.i))
