import type { Server } from 'node:http'
import { longTimeout } from '@conveyor/core/adapter'
import { allExited, type Slot, type SupervisorState } from './state'

/**
 * Stopping the supervisor: a graceful stop lets children drain (up to the drain timeout, with a backstop), a hard
 * one has them give their deliveries back now (stragglers are killed after 3 s); `done` resolves once every child
 * has exited and the endpoints are closed.
 */
export class Shutdown {
  readonly done: Promise<number>
  /** Health endpoints to close at the end (set once started). */
  health: Server | undefined
  /** The limits watchdog to clear at the end (set once started). */
  watchdog: NodeJS.Timeout | undefined
  private finish: (code: number) => void = () => undefined
  private signals = 0

  constructor(private readonly state: SupervisorState) {
    this.done = new Promise<number>((resolve) => {
      this.finish = resolve
    })
  }

  /** Every child is gone: close what the supervisor serves and resolve `done`. */
  async finishAll(): Promise<void> {
    if (this.watchdog) clearInterval(this.watchdog)
    for (const slot of this.state.slots) if (slot.timer) clearTimeout(slot.timer)
    const health = this.health
    await new Promise<void>((resolve) => (health ? health.close(() => resolve()) : resolve()))
    await this.state.metrics?.close()
    this.state.log.info('supervisor stopped')
    this.finish(0)
  }

  async stop(): Promise<void> {
    const { state } = this
    if (state.stopping) return this.done.then(() => undefined)
    state.stopping = 'graceful'
    state.log.info(
      { drainTimeoutMs: state.drainTimeoutMs },
      'stopping: workers finish running tasks (signal again to stop now)',
    )
    for (const slot of state.slots) {
      if (slot.timer) clearTimeout(slot.timer)
      if (slot.child) {
        slot.state = 'stopping'
        tell(slot, 'stop')
      } else slot.state = 'exited'
    }
    if (allExited(state.slots)) void this.finishAll()
    // Children stop themselves at the drain deadline; this is the backstop if one hangs.
    // --drain-timeout past 2³¹−1 ms: a plain setTimeout would stop everything now, the running tasks with it.
    const cancelDeadline = longTimeout(() => void this.stopNow(), state.drainTimeoutMs + 3000, { unref: true })
    await this.done
    cancelDeadline()
  }

  async stopNow(): Promise<void> {
    const { state } = this
    if (state.stopping === 'hard') return this.done.then(() => undefined)
    const wasStopping = state.stopping !== undefined
    state.stopping = 'hard'
    state.log.warn('stopping now: running tasks go back to the queue')
    for (const slot of state.slots) {
      if (slot.timer) clearTimeout(slot.timer)
      if (slot.child) tell(slot, 'stop-now')
    }
    if (!wasStopping && allExited(state.slots)) void this.finishAll()
    const kill = setTimeout(() => {
      for (const slot of state.slots) slot.child?.kill('SIGKILL')
    }, 3000)
    kill.unref()
    await this.done
    clearTimeout(kill)
  }

  /** SIGTERM/SIGINT: the first stops gracefully, the next stops now; unlistened once done. */
  handleSignals(): void {
    const onSignal = (signal: NodeJS.Signals) => {
      this.signals++
      this.state.log.info({ signal }, 'signal received')
      void (this.signals === 1 ? this.stop() : this.stopNow())
    }
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
    void this.done.then(() => {
      process.off('SIGTERM', onSignal)
      process.off('SIGINT', onSignal)
    })
  }
}

/** Forward a stop to a child over IPC, or as SIGTERM when its channel is gone. */
function tell(slot: Slot, type: 'stop' | 'stop-now'): void {
  const child = slot.child
  if (child?.connected) child.send({ type })
  else if (child) child.kill('SIGTERM')
}
