import type { Broker } from '@conveyor/core'
import type { Delivery } from '@conveyor/core/adapter'
import { envelope, sleep } from '@conveyor/test-support'

/** What one failover run measured. */
export interface FailoverReport {
  readonly label: string
  readonly jobs: number
  /** Publishes whose promise resolved (each id counted once, however many tries it took). */
  readonly acknowledged: number
  /** Publish calls that rejected (retried with the same id until acknowledged). */
  readonly publishFailures: number
  /** Distinct ids a handler ran for. */
  readonly processed: number
  /** Acknowledged by the broker but never processed. */
  readonly lost: number
  /** Handler runs beyond the first, over all ids (at-least-once redeliveries). */
  readonly duplicates: number
  /** From the kill until the first job published after it was processed. */
  readonly resumeSeconds: number
  /** The longest time after the kill that no job was processed (the failover's pause, or a stall). */
  readonly longestPauseSeconds: number
  /** From the kill until the first job published after it was acknowledged: tells a publish-side wait from a stall. */
  readonly publishResumeSeconds: number
  /**
   * When something acknowledged was not processed: the queue as the master saw it at the end, which tells stuck
   * consumers (the jobs still ready or in flight) from lost writes (the jobs nowhere).
   */
  readonly queueAtEnd?: string
}

export interface FailoverLoad {
  readonly label: string
  readonly queue: string
  readonly jobs: number
  /** Publishes started per second: paced so that the kill lands mid-stream with consumers busy. */
  readonly ratePerSec: number
  /** A broker for a role (`producer`, `worker-1`, …); each gets its own connections, as separate processes would. */
  readonly broker: (role: string) => Broker
  readonly workers?: number
  readonly prefetch?: number
  /** Kill the master (kill -9) once a third of the jobs are published. */
  kill(): Promise<void>
  /** After the kill, in the background: wait for the failover and bring the dead node back as a replica. */
  recover(): Promise<void>
  /**
   * How long to wait for the last acknowledged jobs once nothing more arrives. Default 45 s: longer than a consumer's
   * own stall watchdog (30 s, which replaces a connection whose fetch got no answer), so a consumer that recovers by
   * itself shows up as a long pause, not as lost jobs.
   */
  readonly quietMs?: number
}

/** One publish, retried with the same id until acknowledged (what a careful producer does). */
async function publishUntilAcked(
  producer: Broker,
  queue: string,
  id: string,
  onFailure: () => void,
  deadline: number,
): Promise<boolean> {
  for (;;) {
    try {
      await producer.publish(envelope(queue, { id, payload: { id } }))
      return true
    } catch {
      onFailure()
      if (Date.now() > deadline) return false
      await sleep(100)
    }
  }
}

/**
 * Enqueue `jobs` ids at `ratePerSec` while `workers` consumers record every id they process, kill the master a third
 * of the way in, and count: acknowledged, processed, lost (acknowledged, never processed), duplicates, resume time.
 */
export async function runFailoverLoad(load: FailoverLoad): Promise<FailoverReport> {
  const processed = new Map<string, number>()
  const published = new Set<string>()
  const afterKill = new Set<string>()
  let killedAt = 0
  let resumedAt = 0
  let publishFailures = 0
  let lastProgress = Date.now()
  let queueAtEnd: string | undefined
  /** The longest time after the kill without any job processed. */
  let longestPause = 0
  /** When the first job published after the kill was acknowledged to the producer. */
  let publishedAgainAt = 0
  const workers = Array.from({ length: load.workers ?? 2 }, (_, i) => load.broker(`worker-${i + 1}`))
  const producer = load.broker('producer')
  const handle = (delivery: Delivery) => {
    const id = delivery.envelope.id
    processed.set(id, (processed.get(id) ?? 0) + 1)
    const now = Date.now()
    if (killedAt !== 0 && now - lastProgress > longestPause) longestPause = now - lastProgress
    lastProgress = now
    if (resumedAt === 0 && afterKill.has(id)) resumedAt = Date.now()
    // A failed ack (connection lost mid-failover) leaves the job to come back: a duplicate, never a loss.
    delivery.ack().catch(() => {})
  }
  try {
    for (const worker of workers) {
      await worker.connect()
      await worker.declare({ name: load.queue })
      await worker.consume(load.queue, handle, { prefetch: load.prefetch ?? 20 })
    }
    await producer.connect()
    const started = Date.now()
    const deadline = started + 120_000
    const publishes: Promise<void>[] = []
    let recovering: Promise<void> | undefined
    for (let i = 0; i < load.jobs; i++) {
      // Pace by the clock: job i starts at i / rate seconds.
      const due = started + (i * 1000) / load.ratePerSec
      if (due > Date.now()) await sleep(due - Date.now())
      // By jobs started, not acknowledged: on a loaded machine acknowledgements lag, and the kill must still come
      // with two thirds of the jobs left to publish after it.
      if (killedAt === 0 && i >= Math.floor(load.jobs / 3)) {
        await load.kill()
        killedAt = Date.now()
        recovering = load.recover()
      }
      const id = `${load.label}-${i}`
      if (killedAt !== 0) afterKill.add(id)
      publishes.push(
        publishUntilAcked(producer, load.queue, id, () => publishFailures++, deadline).then((ok) => {
          if (ok) published.add(id)
          if (ok && publishedAgainAt === 0 && afterKill.has(id)) publishedAgainAt = Date.now()
        }),
      )
    }
    await Promise.all(publishes)
    await recovering
    // Everything acknowledged is processed, or nothing has arrived for quietMs (leases of dead deliveries included).
    const quietMs = load.quietMs ?? 45_000
    while ([...published].some((id) => !processed.has(id)) && Date.now() - lastProgress < quietMs) await sleep(100)
    if ([...published].some((id) => !processed.has(id))) {
      queueAtEnd = await producer.stats(load.queue).then(
        (stats) => `ready ${stats.ready}, in flight ${stats.inFlight}, delayed ${stats.delayed}, dead ${stats.dead}`,
        (error: unknown) => `stats failed: ${(error as Error).message}`,
      )
    }
  } finally {
    await Promise.all([producer, ...workers].map((broker) => broker.destroy()))
  }
  const lost = [...published].filter((id) => !processed.has(id)).length
  let duplicates = 0
  for (const count of processed.values()) duplicates += count - 1
  return {
    label: load.label,
    jobs: load.jobs,
    acknowledged: published.size,
    publishFailures,
    processed: processed.size,
    lost,
    duplicates,
    resumeSeconds: resumedAt === 0 ? Number.NaN : (resumedAt - killedAt) / 1000,
    longestPauseSeconds: longestPause / 1000,
    publishResumeSeconds: publishedAgainAt === 0 ? Number.NaN : (publishedAgainAt - killedAt) / 1000,
    ...(queueAtEnd === undefined ? {} : { queueAtEnd }),
  }
}

/** One line per run, for the test output and the bench. */
export function formatReport(r: FailoverReport): string {
  return (
    `[failover] ${r.label}: jobs ${r.jobs}, enqueued+acknowledged ${r.acknowledged} (publish retries ${r.publishFailures}), ` +
    `processed ${r.processed}, lost ${r.lost}, duplicates ${r.duplicates}, resumed after ${r.resumeSeconds.toFixed(1)} s, ` +
    `longest pause ${r.longestPauseSeconds.toFixed(1)} s, publishes acknowledged again after ${r.publishResumeSeconds.toFixed(1)} s` +
    (r.queueAtEnd === undefined ? '' : `; queue at the end: ${r.queueAtEnd}`)
  )
}
