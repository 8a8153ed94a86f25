/**
 * Opt-in: CPU-profile the consume path alone (backlog filled with publishMany first).
 * `node --import tsx --conditions=conveyor-source adapters/redis/scripts/consume-profile.ts [jobs] [prefetch] [out]`
 */
import { randomUUID } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { Redis } from 'ioredis'
import { createRedisBroker } from '../src/index'

const jobs = Number(process.argv[2] ?? 40_000)
const prefetch = Number(process.argv[3] ?? 50)
const out = process.argv[4] ?? 'consume.cpuprofile'
const url = process.env.CONVEYOR_REDIS_URL ?? 'redis://127.0.0.1:6379'
const prefix = `cvprofile-${randomUUID().slice(0, 8)}`
const broker = createRedisBroker({ url, prefix, logger: false })
const raw = new Redis(url)
const now = Date.now()
await broker.publishMany!(
  Array.from({ length: jobs }, (_, i) => ({
    id: randomUUID(),
    task: 'noop',
    payload: { i },
    queue: 'bench',
    priority: 0,
    attempt: 1,
    maxAttempts: 3,
    createdAt: now,
  })),
)
const session = new Session()
session.connect()
await session.post('Profiler.enable')
await session.post('Profiler.start')
let done = 0
const cpu0 = process.cpuUsage()
const t0 = performance.now()
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
const t1 = performance.now()
const cpu = process.cpuUsage(cpu0)
const { profile } = await session.post('Profiler.stop')
writeFileSync(out, JSON.stringify(profile))
console.log(
  `process (prefetch ${prefetch}): ${Math.round(jobs / ((t1 - t0) / 1000))} jobs/s, ` +
    `client CPU ${((cpu.user + cpu.system) / jobs).toFixed(1)} µs/job (profiled)`,
)
await broker.close()
let cursor = '0'
do {
  const [next, keys] = await raw.scan(cursor, 'MATCH', `{${prefix}:*`, 'COUNT', 1000)
  cursor = next
  if (keys.length > 0) await raw.unlink(...keys)
} while (cursor !== '0')
raw.disconnect()
