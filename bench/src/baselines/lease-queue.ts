import { readFileSync } from 'node:fs'
import type { Redis } from 'ioredis'
import type { BenchJob, ConsumeHooks, Consumer } from '../systems/system'
import { sleep } from '../util/time'

const FETCH_LUA = readFileSync(new URL('./lua/lease-fetch.lua', import.meta.url), 'utf8')

/**
 * The practical limit of a reliable queue on Redis, written the way an expert would for one purpose and nothing
 * else: producers LPUSH (pipelined), a consumer moves k jobs into a lease zset with one Lua call, runs them, and
 * acknowledges everything that finished in the same tick with one ZREM. At-least-once (a dead consumer's leases are
 * reclaimed on the next fetch), but no priorities, delays, retries, dead letters, delivery counts or lease extension:
 * whatever Conveyor costs above this line is the price of those.
 */
export interface LeaseQueue {
  push(job: BenchJob): Promise<void>
  /** Pipelined LPUSH, one command per job. */
  pushMany(jobs: readonly BenchJob[]): Promise<void>
  consume(concurrency: number, hooks: ConsumeHooks): Promise<Consumer>
}

let jobSeq = 0

/** Jobs carry a unique id so identical payloads stay distinct members of the lease zset. */
const encode = (job: BenchJob): string => JSON.stringify({ id: ++jobSeq, data: job })

export async function createLeaseQueue(redis: Redis, prefix: string, leaseMs = 30_000): Promise<LeaseQueue> {
  const ready = `${prefix}:ready`
  const leases = `${prefix}:leases`
  const sha = String(await redis.script('LOAD', FETCH_LUA))

  return {
    async push(job) {
      await redis.lpush(ready, encode(job))
    },
    async pushMany(jobs) {
      const pipeline = redis.pipeline()
      for (const job of jobs) pipeline.lpush(ready, encode(job))
      const replies = (await pipeline.exec()) ?? []
      for (const [error] of replies) if (error) throw error
    },
    async consume(concurrency, hooks) {
      const conn = redis.duplicate({ connectionName: `${prefix}:consumer` })
      let blocker: Redis | undefined
      let inFlight = 0
      let stopped = false
      let acks: string[] = []
      let flushScheduled = false
      let slotFreed: (() => void) | undefined

      let acking = 0
      const flush = async () => {
        flushScheduled = false
        const batch = acks
        acks = []
        acking += batch.length
        await conn.zrem(leases, ...batch)
        acking -= batch.length
        for (let i = 0; i < batch.length; i++) hooks.onDone()
      }
      // A finished job frees its slot at once: its ack and the next fetch share the connection's pipeline instead of
      // taking two round trips in a row (the Redis adapter does the same).
      const finished = (body: string) => {
        acks.push(body)
        inFlight--
        const wake = slotFreed
        slotFreed = undefined
        // Next tick, so the other handlers finishing in this one free their slots too and one fetch takes them all.
        if (wake) setImmediate(wake)
        if (!flushScheduled) {
          flushScheduled = true
          setImmediate(() => void flush())
        }
      }
      const run = (body: string) => {
        const { data } = JSON.parse(body) as { data: BenchJob }
        hooks.onStart?.(data)
        // The no-op handler, run asynchronously like every other system's.
        void (hooks.hold ? hooks.hold() : Promise.resolve()).then(() => finished(body))
      }
      const loop = async () => {
        while (!stopped) {
          const want = concurrency - inFlight
          if (want <= 0) {
            await new Promise<void>((resolve) => {
              slotFreed = resolve
            })
            continue
          }
          const bodies = (await conn.evalsha(sha, 2, ready, leases, want, leaseMs)) as string[]
          if (bodies.length === 0) {
            // Idle: block until the list has something. BLMOVE from the list onto its own tail moves nothing but
            // wakes on the first push, without taking the job outside a lease; the next fetch then leases it.
            blocker ??= redis.duplicate({ connectionName: `${prefix}:blocker` })
            await blocker.blmove(ready, ready, 'RIGHT', 'RIGHT', 0.5)
            continue
          }
          inFlight += bodies.length
          for (const body of bodies) run(body)
        }
      }
      const looping = loop()
      let stopping: Promise<void> | undefined
      return {
        stop() {
          stopping ??= (async () => {
            stopped = true
            slotFreed?.()
            // A blocked BLMOVE returns within its 0.5 s timeout; do not wait for it.
            blocker?.disconnect()
            await looping.catch(() => undefined)
            while (inFlight > 0 || acking > 0 || acks.length > 0) await sleep(1)
            await conn.quit()
          })()
          return stopping
        },
      }
    },
  }
}
