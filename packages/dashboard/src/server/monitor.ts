import type { App, ConveyorEvent } from '@conveyor/core'
import type { QueueStats } from '@conveyor/core/adapter'
import type { DashboardEvents } from '../feed/types'
import { EventCounters, type Sample, SampleRing } from './series'
import { PendingTracker, WorkerTracker } from './trackers'

/** What live pages are told, at most once per `liveIntervalMs`: something changed, go and look. */
export interface LiveChange {
  /** Events seen since the last change message. */
  readonly events: number
  /** Queues those events touched. */
  readonly queues: readonly string[]
  /** A new chart sample was taken. */
  readonly sample: boolean
  readonly at: number
}

export interface MonitorOptions {
  readonly app: App
  readonly events: DashboardEvents
  /** Called with each event before it is counted (the dashboard's own in-memory history records it). */
  readonly onEvent?: (event: ConveyorEvent) => void
  readonly extraQueues: readonly string[]
  readonly sampleIntervalMs: number
  readonly liveIntervalMs: number
}

const HOUR_MS = 3_600_000

/**
 * The dashboard's running state: one subscription to the event source however many pages are open, counters for
 * rates, an hour of chart samples, and coalesced change notices for the live pages (a burst of 1,000 events a
 * second becomes at most one notice per `liveIntervalMs`).
 */
export class Monitor {
  private readonly counters = new EventCounters()
  private readonly ring: SampleRing
  private readonly listeners = new Set<(change: LiveChange) => void>()
  private readonly seenQueues = new Set<string>()
  readonly pending = new PendingTracker()
  /** Workers from `worker.*` events; silent for 30 s (six missed default beats) means gone. */
  readonly workers = new WorkerTracker(30_000)
  private pendingEvents = 0
  private pendingQueues = new Set<string>()
  private pendingSample = false
  private lastSampleAt = Date.now()
  private timers: NodeJS.Timeout[] = []
  private unsubscribe: (() => void) | undefined
  private sampling: Promise<void> | undefined
  lastStats: Readonly<Record<string, QueueStats>> = {}

  constructor(private readonly options: MonitorOptions) {
    this.ring = new SampleRing(Math.ceil(HOUR_MS / options.sampleIntervalMs))
  }

  start(): void {
    if (this.unsubscribe !== undefined) return
    this.unsubscribe = this.options.events.subscribe((event) => this.onEvent(event))
    const sampler = setInterval(() => void this.sample(), this.options.sampleIntervalMs)
    const notifier = setInterval(() => this.flush(), this.options.liveIntervalMs)
    for (const timer of [sampler, notifier]) timer.unref()
    this.timers = [sampler, notifier]
    void this.sample()
  }

  async stop(): Promise<void> {
    this.unsubscribe?.()
    this.unsubscribe = undefined
    for (const timer of this.timers) clearInterval(timer)
    this.timers = []
    await this.sampling
    this.listeners.clear()
  }

  /** Be told about changes; returns the unsubscribe. */
  onChange(listener: (change: LiveChange) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Every queue worth showing: listed by the broker, configured, implemented here, or seen in events. */
  async queues(): Promise<string[]> {
    const { app } = this.options
    const names = new Set<string>(this.options.extraQueues)
    for (const name of (await app.broker.listQueues?.()) ?? []) names.add(name)
    for (const task of app.tasks()) if (task.settings.queue) names.add(task.settings.queue)
    for (const name of this.seenQueues) names.add(name)
    if (names.size === 0) names.add('default')
    return [...names].sort()
  }

  samples(sinceMs: number): Sample[] {
    return this.ring.since(Date.now() - sinceMs)
  }

  /** Per-second rates of runs in (enqueued) and out (finished) of `queue` over the last minute of samples. */
  rates(queue: string): { in: number; out: number } {
    const recent = this.ring.since(Date.now() - 60_000)
    const seconds = recent.reduce((sum, s) => sum + s.seconds, 0)
    if (seconds === 0) return { in: 0, out: 0 }
    const sum = (pick: (s: Sample) => number) => recent.reduce((total, s) => total + pick(s), 0) / seconds
    return { in: sum((s) => s.in[queue] ?? 0), out: sum((s) => s.out[queue] ?? 0) }
  }

  private onEvent(event: ConveyorEvent): void {
    this.options.onEvent?.(event)
    this.pendingEvents++
    if (!('queue' in event)) {
      this.workers.record(event)
      return
    }
    this.pending.record(event)
    this.counters.count(event.type, event.queue)
    this.seenQueues.add(event.queue)
    this.pendingQueues.add(event.queue)
  }

  private flush(): void {
    if (this.pendingEvents === 0 && !this.pendingSample) return
    const change: LiveChange = {
      events: this.pendingEvents,
      queues: [...this.pendingQueues],
      sample: this.pendingSample,
      at: Date.now(),
    }
    this.pendingEvents = 0
    this.pendingQueues = new Set()
    this.pendingSample = false
    for (const listener of this.listeners) listener(change)
  }

  private sample(): Promise<void> {
    // One sample at a time: a slow broker stretches the interval instead of piling up reads.
    this.sampling ??= this.takeSample().finally(() => {
      this.sampling = undefined
    })
    return this.sampling
  }

  private async takeSample(): Promise<void> {
    const queues = await this.queues().catch(() => [...this.seenQueues])
    const stats: Record<string, QueueStats> = {}
    const depth: Record<string, number> = {}
    const oldestAgeMs: Record<string, number> = {}
    const now = Date.now()
    await Promise.all(
      queues.map(async (queue) => {
        try {
          const s = await this.options.app.broker.stats(queue)
          stats[queue] = s
          depth[queue] = s.ready + s.delayed
        } catch {
          // A queue that cannot be read now is left out of this sample, not shown as empty.
        }
        const oldest = this.pending.oldest(queue, now)
        if (oldest !== undefined) oldestAgeMs[queue] = Math.max(0, now - oldest)
      }),
    )
    const counts = this.counters.take()
    const at = Date.now()
    this.ring.push({
      at,
      seconds: Math.max(0.001, (at - this.lastSampleAt) / 1000),
      enqueued: counts.enqueuedTotal,
      succeeded: counts.succeeded,
      retried: counts.retried,
      failed: counts.failed,
      deadLettered: counts.deadLettered,
      in: counts.enqueued,
      out: counts.finished,
      depth,
      oldestAgeMs,
    })
    this.lastSampleAt = at
    this.lastStats = stats
    this.pendingSample = true
  }
}
