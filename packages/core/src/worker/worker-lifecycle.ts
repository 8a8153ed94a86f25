import type { Subscription } from '../contracts/broker'
import { ConveyorError } from '../errors/conveyor-error'
import type { Logger } from '../logging/logger'
import { withTimeout } from '../util/with-timeout'
import type { WorkerRuntime } from './runtime'
import type { WorkerLoop } from './worker-loop'
import type { WorkerSettings } from './worker-settings'

/** What starting and stopping a worker works with. */
export interface WorkerLifecycleParts {
  readonly id: string
  readonly host: string
  readonly runtime: WorkerRuntime
  readonly settings: WorkerSettings
  readonly loop: WorkerLoop
  readonly log: Logger
  /** Closes the worker's app: what a signal-stopped worker does last. */
  readonly closeApp: () => Promise<void> | undefined
}

/**
 * Starting (declare, subscribe, announce), stopping (cancel, give back, drain, announce) and the signals that stop a
 * worker. Nothing here runs per job.
 */
export class WorkerLifecycle {
  private readonly subscriptions: Subscription[] = []
  private stopping: Promise<void> | undefined
  /** The subscribing part of `start()` while it runs: a `stop()` meanwhile waits for it (bounded) first. */
  private subscribing: Promise<void> | undefined
  private signalCount = 0

  constructor(private readonly parts: WorkerLifecycleParts) {}

  async start(): Promise<void> {
    const { id, settings, loop } = this.parts
    if (loop.state !== 'idle') {
      throw new ConveyorError('CONVEYOR_WORKER_STATE', `worker ${id} is ${loop.state}; make a new one`)
    }
    loop.state = 'starting'
    this.subscribing = this.subscribe()
    try {
      await this.subscribing
    } catch (error) {
      loop.state = 'stopped'
      await Promise.allSettled(this.subscriptions.map((s) => s.cancel()))
      throw error
    }
    if (this.stopping !== undefined) {
      // Stopped while subscribing: the stop owns the state; what subscribed after it gave up waiting is cancelled.
      await Promise.allSettled(this.subscriptions.map((s) => s.cancel()))
      return
    }
    loop.state = 'running'
    if (settings.handleSignals) {
      process.on('SIGTERM', this.onSignal)
      process.on('SIGINT', this.onSignal)
    }
    this.announceOnline()
  }

  private async subscribe(): Promise<void> {
    const { runtime, settings, loop } = this.parts
    await runtime.ready()
    for (const queue of settings.queues) await runtime.declareQueue(queue)
    for (const queue of settings.queues) {
      if (this.stopping !== undefined) return
      this.subscriptions.push(await runtime.broker.consume(queue, loop.onDelivery, { prefetch: settings.prefetch }))
    }
  }

  stop(stopOptions: { timeoutMs?: number } = {}): Promise<void> {
    const { loop } = this.parts
    if (loop.state === 'idle') {
      loop.state = 'stopped'
      return Promise.resolve()
    }
    // Already draining: `stop({ timeoutMs: 0 })` cuts the drain short (a hard stop); others share the first call.
    if (this.stopping !== undefined && stopOptions.timeoutMs === 0) loop.stopNow()
    this.stopping ??= this.stopAfterStart(stopOptions.timeoutMs ?? this.parts.settings.drainTimeoutMs)
    return this.stopping
  }

  /**
   * A stop during `start()` first lets its subscribing finish (within the drain timeout: a broker that never answers
   * must not hold the stop), so the subscriptions it makes are cancelled here rather than left consuming.
   */
  private async stopAfterStart(timeoutMs: number): Promise<void> {
    if (this.subscribing !== undefined && this.parts.loop.state === 'starting') {
      await withTimeout(this.subscribing, timeoutMs, () => new Error('start still subscribing')).catch(() => undefined)
    }
    await this.drainAndStop(timeoutMs)
  }

  private async drainAndStop(timeoutMs: number): Promise<void> {
    const { loop, log, settings } = this.parts
    loop.state = 'stopping'
    await Promise.allSettled(this.subscriptions.map((s) => s.cancel()))
    await loop.giveBackWaiting()
    await loop.drain(timeoutMs)
    const unfinished = await loop.giveBackUnfinished()
    if (unfinished > 0) log.warn({ count: unfinished }, 'gave unfinished tasks back to the queue')
    if (settings.handleSignals) {
      process.off('SIGTERM', this.onSignal)
      process.off('SIGINT', this.onSignal)
    }
    loop.state = 'stopped'
    this.announceOffline()
  }

  /** The first signal stops gracefully and then closes the app; a second one stops at once. */
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    const { log, loop } = this.parts
    this.signalCount++
    if (this.signalCount === 1) {
      log.info({ signal }, 'stopping: finishing running tasks (send again to stop now)')
      // Then close the app: its connections would keep the process alive after the signal asked it to end.
      void this.stop()
        .then(() => this.parts.closeApp())
        .catch((error: unknown) => log.error({ err: error }, 'closing the app after the signal failed'))
    } else {
      log.warn({ signal }, 'stopping now: running tasks go back to the queue')
      loop.stopNow()
    }
  }

  private announceOnline(): void {
    const { id, host, runtime, settings, log } = this.parts
    const { queues, concurrency, prefetch } = settings
    log.info({ queues, concurrency, prefetch }, 'worker started')
    if (runtime.events.wants('worker.online')) {
      runtime.events.emit('worker.online', { worker: id, host, pid: process.pid, at: Date.now(), queues, concurrency })
    }
  }

  private announceOffline(): void {
    const { id, host, runtime, loop, log } = this.parts
    const { processed } = loop
    log.info({ processed }, 'worker stopped')
    if (runtime.events.wants('worker.offline')) {
      runtime.events.emit('worker.offline', { worker: id, host, pid: process.pid, at: Date.now(), processed })
    }
  }
}
