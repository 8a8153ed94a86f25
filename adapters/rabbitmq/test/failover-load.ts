import { randomUUID } from 'node:crypto'
import type { Envelope } from '@conveyor/core/adapter'
import { createRabbitMQBroker, type RabbitMQBroker } from '@conveyor/rabbitmq'
import { sleep } from '@conveyor/test-support'
import { connect } from 'amqplib'
import { legacyDelayQueueArguments } from '../src/delay-queues'
import type { RabbitMQCluster, RabbitMQNode } from './cluster'

/** What a failover run measured; `lost` is the figure that must stay 0 on quorum queues. */
export interface FailoverReport {
  readonly jobs: number
  /** Publishes the broker confirmed (the caller was told "enqueued"). */
  readonly acknowledged: number
  /** Publishes that rejected to the caller even after its retries (the caller knows they may not be enqueued). */
  readonly rejected: number
  /** Distinct job ids a worker's handler ran. */
  readonly processed: number
  /** Acknowledged but never processed. */
  readonly lost: number
  /** Handler runs beyond the first for the same id (at-least-once redeliveries). */
  readonly duplicates: number
  /** From the kill to the first job published after the kill being processed. */
  readonly resumeSeconds: number
  /** The killed node's name; it is down when the run returns unless `restartAfterMs` was given. */
  readonly killed: string
  readonly seconds: number
  /** Each job's delay (0: immediate jobs). */
  readonly delayMs: number
  /** Delayed jobs sitting in the delay queue when the leader was killed (0 for immediate jobs). */
  readonly delayedAtKill: number
}

export interface FailoverOptions {
  readonly cluster: RabbitMQCluster
  readonly jobs: number
  /** Worker connections (each its own broker), spread over the nodes. Defaults to 2. */
  readonly workers?: number
  readonly prefetch?: number
  /** Kill the leader once this share of the jobs is acknowledged. Defaults to 0.3. */
  readonly killAt?: number
  /**
   * Publish every job with this delay (countdown), so it passes through the 1 s delay queue and RabbitMQ's
   * dead-lettering back to the work queue; the kill then catches jobs between the two. Defaults to 0 (immediate).
   */
  readonly delayMs?: number
  /**
   * Declare the delay queue first as Conveyor did before at-least-once dead-lettering (at-most-once), to measure
   * what that loses. Defaults to false.
   */
  readonly legacyDelayQueue?: boolean
  /**
   * Start the killed node again this long after the kill, while the run goes on (as a supervisor would); by default it
   * stays down until the run ends.
   */
  readonly restartAfterMs?: number
  /** How long to wait for the last jobs after publishing ends. Defaults to 60 s. */
  readonly drainTimeoutMs?: number
  readonly log?: (line: string) => void
}

/** The nodes' URLs starting at node `first`: each connection prefers its own node and fails over to the others. */
const rotated = (urls: readonly string[], first: number) => urls.map((_, i) => urls[(first + i) % urls.length]!)

/**
 * Jobs published to a quorum queue while workers consume them, with the queue's leader node SIGKILLed part way: every
 * processed id is recorded, so a job the broker confirmed and no worker ever ran shows up as lost.
 */
export async function runFailoverLoad(options: FailoverOptions): Promise<FailoverReport> {
  const { cluster, jobs } = options
  const log = options.log ?? (() => {})
  const prefix = `cvt.rmqcluster.${randomUUID().slice(0, 8)}`
  const queue = 'failover'
  const brokers: RabbitMQBroker[] = []
  const make = (first: number, label: string) => {
    const broker = createRabbitMQBroker({
      url: rotated(cluster.urls, first),
      prefix,
      queueType: 'quorum',
      delayLevels: [1_000],
      connectionName: `${prefix}:${label}`,
      publishTimeoutMs: 30_000,
      logger: false,
    })
    brokers.push(broker)
    return broker
  }
  const started = Date.now()
  try {
    // Declared from node 1, so node 1 leads the queue (RabbitMQ places a quorum leader on the declaring node).
    const producer = make(cluster.nodes.length - 1, 'producer')
    const declarer = make(0, 'declarer')
    const names = declarer.queueNames(queue)
    if (options.legacyDelayQueue) await declareLegacyDelayQueues(cluster.urls[0]!, names)
    await declarer.declare({ name: queue, type: 'quorum' })
    const leader = await cluster.leaderOf(names.work)
    const delayLeader = await cluster.leaderOf(names.delays[0]!.name)
    log(
      `queue leader: ${leader.name} (delay queue: ${delayLeader.name}); producer prefers ${cluster.nodes.at(-1)!.name}`,
    )

    const runs = new Map<string, number>()
    /** Acknowledged publishes. */
    const published = new Set<string>()
    /** When each publish was sent (before its confirm, which may come after a worker already ran the job). */
    const sentAt = new Map<string, number>()
    let killedAt = Number.POSITIVE_INFINITY
    let resumedAt = Number.POSITIVE_INFINITY
    const workers = options.workers ?? 2
    for (let w = 0; w < workers; w++) {
      const broker = make(w % cluster.nodes.length, `worker${w}`)
      await broker.consume(
        queue,
        (delivery) => {
          const id = delivery.envelope.id
          runs.set(id, (runs.get(id) ?? 0) + 1)
          const at = Date.now()
          if (at > killedAt && (sentAt.get(id) ?? 0) > killedAt) resumedAt = Math.min(resumedAt, at)
          // A failed ack (its channel died) is redelivered by the queue: counted again as a duplicate, never lost.
          delivery.ack().catch(() => {})
        },
        { prefetch: options.prefetch ?? 50 },
      )
    }

    let acknowledged = 0
    let rejected = 0
    let killed: RabbitMQNode | undefined
    let delayedAtKill = 0
    let restarting: Promise<void> | undefined
    const delayMs = options.delayMs ?? 0
    const killAt = Math.floor(jobs * (options.killAt ?? 0.3))
    const publishOne = async (i: number) => {
      const id = `f${i}`
      const envelope: Envelope = {
        id,
        task: 'failover',
        payload: { i },
        queue,
        priority: 0,
        attempt: 1,
        maxAttempts: 1,
        createdAt: Date.now(),
        ...(delayMs > 0 ? { notBefore: Date.now() + delayMs } : {}),
      }
      // As an application would: a publish that rejects is tried again a few times, then reported.
      for (let attempt = 1; ; attempt++) {
        try {
          sentAt.set(id, Date.now())
          await producer.publish(envelope)
          published.add(id)
          acknowledged++
          break
        } catch (error) {
          if (attempt === 3) {
            rejected++
            log(`publish ${id} rejected: ${(error as Error).message}`)
            return
          }
        }
      }
      if (acknowledged === killAt && killed === undefined) {
        killed = leader
        killedAt = Date.now()
        cluster.kill(leader)
        if (options.restartAfterMs !== undefined) {
          const { restartAfterMs } = options
          restarting = sleep(restartAfterMs).then(async () => {
            await cluster.restart(leader)
            log(`restarted ${leader.name} ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`)
          })
        }
        // Published over the last delay and not run yet: in the delay queue or on their way out of it.
        for (const [id, at] of sentAt)
          if (at > killedAt - delayMs && published.has(id) && !runs.has(id)) delayedAtKill++
        if (delayMs === 0) delayedAtKill = 0
        log(`killed ${leader.name} (-9) after ${acknowledged} acknowledged publishes (${delayedAtKill} delayed)`)
      }
    }
    // A window of publishes in flight, as a busy producer has.
    let next = 0
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < jobs) await publishOne(next++)
      }),
    )
    log(`published: ${acknowledged} acknowledged, ${rejected} rejected`)

    const deadline = Date.now() + (options.drainTimeoutMs ?? 60_000)
    const missing = () => [...published].filter((id) => !runs.has(id)).length
    let reportAt = Date.now() + 10_000
    while (missing() > 0 && Date.now() < deadline) {
      await sleep(100)
      if (Date.now() >= reportAt) {
        reportAt += 10_000
        log(`waiting: ${missing()} acknowledged jobs not processed yet`)
      }
    }
    // Redeliveries of unsettled deliveries may still be on their way: a moment more to count duplicates.
    await sleep(1_000)
    await restarting
    const lost = missing()
    let duplicates = 0
    for (const count of runs.values()) duplicates += count - 1
    return {
      jobs,
      acknowledged,
      rejected,
      processed: runs.size,
      lost,
      duplicates,
      resumeSeconds: (resumedAt - killedAt) / 1000,
      killed: killed?.name ?? '(none)',
      seconds: (Date.now() - started) / 1000,
      delayMs,
      delayedAtKill,
    }
  } finally {
    await Promise.allSettled(brokers.map((broker) => broker.destroy()))
  }
}

/** The delay queues with the arguments Conveyor declared before at-least-once dead-lettering (at-most-once). */
async function declareLegacyDelayQueues(url: string, names: ReturnType<RabbitMQBroker['queueNames']>): Promise<void> {
  const model = await connect(url)
  try {
    const channel = await model.createChannel()
    for (const level of names.delays) {
      await channel.assertQueue(level.name, {
        durable: true,
        arguments: legacyDelayQueueArguments(names.work, level.ms),
      })
    }
  } finally {
    await model.close().catch(() => {})
  }
}

/** One line per figure, as the issue asks them printed. */
export function formatFailoverReport(report: FailoverReport): string {
  return [
    `jobs                        ${report.jobs}${report.delayMs > 0 ? ` (each delayed ${report.delayMs} ms)` : ''}`,
    `enqueued and acknowledged   ${report.acknowledged}`,
    `rejected to the caller      ${report.rejected}`,
    `processed (distinct ids)    ${report.processed}`,
    `lost (acked, never run)     ${report.lost}`,
    `duplicates                  ${report.duplicates}`,
    `seconds to resume           ${report.resumeSeconds.toFixed(1)}`,
    `killed                      ${report.killed}`,
    ...(report.delayMs > 0 ? [`delayed jobs at the kill     ${report.delayedAtKill}`] : []),
    `run took                    ${report.seconds.toFixed(1)} s`,
  ].join('\n')
}
