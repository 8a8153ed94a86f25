import type { BenchEnv } from '../systems/system'

/** Where the servers are: `BENCH_REDIS_URL`, `BENCH_AMQP_URL`, defaulting to the local ones. */
export function benchEnv(): BenchEnv {
  return {
    redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    amqpUrl: process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  }
}
