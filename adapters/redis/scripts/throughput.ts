/**
 * Opt-in measurement of the adapter alone (no core worker): publish N, then consume and ack them at a prefetch.
 * `node --import tsx --conditions=conveyor-source adapters/redis/scripts/throughput.ts [jobs] [prefetch]`
 */
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { createRedisBroker } from '../src/index'

const jobs = Number(process.argv[2] ?? 20_000)
const prefetch = Number(process.argv[3] ?? 50)
const url = process.env.CONVEYOR_REDIS_URL ?? 'redis://127.0.0.1:6379'
const prefix = `cvthroughput-${randomUUID().slice(0, 8)}`
const broker = createRedisBroker({ url, prefix, logger: false })
const raw = new Redis(url)

const t0 = performance.now()
const pending: Promise<void>[] = []
for (let i = 0; i < jobs; i++) {
  pending.push(
    broker.publish({
      id: randomUUID(),
      task: 'noop',
      payload: { i },
      queue: 'bench',
      priority: 0,
      attempt: 1,
      maxAttempts: 3,
      createdAt: Date.now(),
    }),
  )
  if (pending.length >= 64) await Promise.all(pending.splice(0))
}
await Promise.all(pending)
const t1 = performance.now()
const memory = Number(await raw.memory('USAGE', `{${prefix}:bench}:r0`, 'SAMPLES', '0'))
console.log(`enqueue: ${Math.round(jobs / ((t1 - t0) / 1000))} jobs/s; ${(memory / jobs).toFixed(1)} bytes/waiting job`)

let done = 0
const cpu0 = process.cpuUsage()
const t2 = performance.now()
await new Promise<void>((resolve) => {
  void broker.consume(
    'bench',
    (delivery) => {
      void delivery.ack().then(() => {
        if (++done === jobs) resolve()
      })
    },
    { prefetch },
  )
})
const t3 = performance.now()
const cpu = process.cpuUsage(cpu0)
console.log(
  `process (prefetch ${prefetch}): ${Math.round(jobs / ((t3 - t2) / 1000))} jobs/s, ` +
    `client CPU ${((cpu.user + cpu.system) / jobs).toFixed(1)} µs/job`,
)
await broker.close()
let cursor = '0'
do {
  const [next, keys] = await raw.scan(cursor, 'MATCH', `{${prefix}:*`, 'COUNT', 1000)
  cursor = next
  if (keys.length > 0) await raw.unlink(...keys)
} while (cursor !== '0')
raw.disconnect()
