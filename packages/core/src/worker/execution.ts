import type { Delivery } from '../contracts/delivery'

/**
 * One delivery being processed by a worker: the state the worker loop and the run share. Built for the hot path:
 * the AbortController is made only when something asks for the signal.
 */
export class Execution {
  /** Set when the worker gave the delivery back (graceful stop): the outcome is then not settled. */
  released = false
  /** Set once the outcome was handed to the broker (ack, retry, dead letter): nothing to give back any more. */
  settled = false
  /** Set when the run was revoked while running (`terminate`): it ends `revoked`, never retried. */
  terminated = false
  /** The handler's own promise once called, and whether it settled: a terminated one may outlive its run. */
  handler: Promise<unknown> | undefined
  handlerDone = false
  /** Set once the worker freed this execution's handler slot. */
  slotFreed = false
  private controller: AbortController | undefined
  private abortReason: unknown
  private aborted = false
  /** Rejects the running handler's race when the attempt is aborted (timeout, hard stop). */
  interrupt: ((reason: unknown) => void) | undefined
  /**
   * Called once when the outcome is handed to the broker: the handler's work is over and only broker I/O remains,
   * so the worker can start the next handler while the broker confirms the settlement.
   */
  onSettling: (() => void) | undefined

  constructor(readonly delivery: Delivery) {}

  /** The handler's `ctx.signal`; made on first use, already aborted if the attempt was. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController()
      if (this.aborted) this.controller.abort(this.abortReason)
    }
    return this.controller.signal
  }

  /** Why the attempt was aborted, once it was. */
  get abortedWith(): { readonly reason: unknown } | undefined {
    return this.aborted ? { reason: this.abortReason } : undefined
  }

  abort(reason: unknown): void {
    if (this.aborted) return
    this.aborted = true
    this.abortReason = reason
    this.controller?.abort(reason)
    this.interrupt?.(reason)
  }
}
