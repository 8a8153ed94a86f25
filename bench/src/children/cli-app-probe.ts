/**
 * `cli-app.ts`'s app and task, plus per-process counts for `tools/processes-split.ts`: every 50 ms each process writes
 * `<jobs> <first ms> <last ms> <handler µs total>` under its pid into the hash `<BENCH_PREFIX>:probe`, so the tool can
 * tell whether the children of `conveyor worker -P 2` shared the backlog, how long the same handler took in each, and
 * whether V8 optimized it (`%GetOptimizationStatus`). The loop is in a plain function unless BENCH_PROBE_INLINE=1.
 */
import { setFlagsFromString } from 'node:v8'
import { createApp } from '@conveyor/core'
import { createRedisBroker } from '@conveyor/redis'
import { Redis } from 'ioredis'

const prefix = process.env.BENCH_PREFIX
if (!prefix) throw new Error('[bench] cli-app-probe: BENCH_PREFIX is not set')
const url = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379'
const iterations = Number(process.env.BENCH_WORK_ITERATIONS ?? 200_000)

export const app = createApp({
  broker: createRedisBroker({ url, prefix, logger: false }),
  results: false,
  logger: false,
  events: false,
  defaults: { queue: 'q' },
})

// To read V8's optimization state of the handler's loop (`%GetOptimizationStatus`): is it TurboFan code in each child?
setFlagsFromString('--allow-natives-syntax')
const optimizationStatus = new Function('f', 'return %GetOptimizationStatus(f)') as (f: unknown) => number

function work(seed: number): number {
  let x = seed
  for (let i = 0; i < iterations; i++) x = (Math.imul(x, 31) + i) | 0
  return x
}

let count = 0
let first = 0
let last = 0
let handlerUs = 0

// BENCH_PROBE_INLINE=1: the loop inside the async handler itself, as cli-app.ts has it (status then of the handler).
const inline = process.env.BENCH_PROBE_INLINE === '1'
let watched: unknown = work
const handler = async (job: { i: number }) => {
  const started = performance.now()
  let x = job.i
  if (inline) {
    for (let i = 0; i < iterations; i++) x = (Math.imul(x, 31) + i) | 0
  } else x = work(x)
  handlerUs += (performance.now() - started) * 1000
  last = Date.now()
  if (count === 0) first = last
  count++
  return x
}
if (inline) watched = handler
app.task('bench.cpu', handler)

const probe = new Redis(url)
setInterval(
  () =>
    void probe.hset(
      `${prefix}:probe`,
      String(process.pid),
      `${count} ${first} ${last} ${handlerUs.toFixed(0)} ${optimizationStatus(watched).toString(2)}`,
    ),
  50,
).unref()
