import type { Worker } from '@conveyor/core'
import type { HardLimitKill } from '@conveyor/core/adapter'
import type { ChildMessage, SupervisorMessage } from './messages'

/** How a stop asked of the child runs: let running tasks finish, or give them back now. */
export type StopKind = 'graceful' | 'hard'

/**
 * The child's side of its IPC link with the supervisor: reports out (`send`, and an `exit` that waits for the last
 * one to be written), stops, terminates and hard-limit kills in. Listening starts before the app module loads, so a
 * stop asked for meanwhile is held and handed over once the worker runs.
 *
 * Signals: the supervisor forwards stops as IPC messages. A SIGTERM sent to this process directly (systemd's
 * control-group kill, `kill <pid>`) is the same graceful stop, so a signal plus the forwarded message count once;
 * a second signal stops at once. SIGINT is ignored: a terminal's Ctrl+C reaches the supervisor, which forwards it.
 */
export class SupervisorLink {
  /** The last message handed to the IPC channel, resolved once written: exit waits for it. */
  private written: Promise<void> = Promise.resolve()
  private requested: StopKind | undefined
  private onStop: ((how: StopKind) => void) | undefined
  private worker: Worker | undefined
  private signals = 0

  /** `onKill`: a process was killed running this attempt, so its redelivery must fail, not run again. */
  constructor(private readonly onKill: (kill: HardLimitKill) => void) {}

  listen(): void {
    process.on('message', (message: SupervisorMessage) => {
      if (message?.type === 'stop') this.stop('graceful')
      else if (message?.type === 'stop-now') this.stop('hard')
      // Before start-up finished there is nothing running to stop.
      else if (message?.type === 'terminate') this.worker?.terminate(message.id)
      else if (message?.type === 'hard-limit-killed') {
        const { type: _, ...kill } = message
        this.onKill(kill)
      }
    })
    process.on('SIGTERM', () => {
      this.signals++
      this.stop(this.signals === 1 ? 'graceful' : 'hard')
    })
    process.on('SIGINT', () => undefined)
    // The supervisor is gone (killed -9): do not run on unsupervised; drain and leave.
    process.on('disconnect', () => this.stop('graceful'))
  }

  send(message: ChildMessage): void {
    if (!process.connected || process.send === undefined) return
    this.written = new Promise<void>((resolve) => {
      process.send?.(message, undefined, undefined, () => resolve())
    })
  }

  exit(code: number): void {
    // Let the IPC channel flush the last message (a metrics snapshot can be larger than one pipe write) before the
    // process goes; bounded, in case the supervisor stopped reading.
    const bound = new Promise<void>((resolve) => setTimeout(resolve, 2000))
    void Promise.race([this.written, bound]).then(() => setImmediate(() => process.exit(code)))
  }

  /** A stop was asked for before the worker ran. */
  get stopRequested(): boolean {
    return this.requested !== undefined
  }

  /** Terminates reach this worker from now on. */
  attachWorker(worker: Worker): void {
    this.worker = worker
  }

  /** Stops go to `onStop` from now on; one asked for meanwhile is handed over at once. */
  handOverStops(onStop: (how: StopKind) => void): void {
    this.onStop = onStop
    if (this.requested !== undefined) onStop(this.requested)
  }

  private stop(how: StopKind): void {
    if (this.onStop) this.onStop(how)
    else if (this.requested !== 'hard') this.requested = how
  }
}
