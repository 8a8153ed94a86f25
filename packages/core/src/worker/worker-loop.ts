import type { Delivery } from '../contracts/delivery'
import { ConveyorError } from '../errors/conveyor-error'
import { TaskRevokedError } from '../errors/task-revoked-error'
import type { Logger } from '../logging/logger'
import { Deque } from '../util/deque'
import { longTimeout } from '../util/long-timeout'
import { execute } from './execute'
import { Execution } from './execution'
import type { ExecutionHooks, WorkerRuntime } from './runtime'
import type { WorkerState } from './worker'

const noop = () => undefined

/**
 * The worker's hot path and the state it shares with starting and stopping: deliveries come in through `onDelivery`,
 * run while a handler slot is free, wait in order otherwise, and are given back when the worker stops. A class with
 * explicit fields rather than a closure, so the per-job path allocates only the execution, its slot release and its
 * outcome callback.
 */
export class WorkerLoop {
  state: WorkerState = 'idle'
  /** Deliveries finished since start. */
  processed = 0
  /** Executions claimed and not yet finished (handler running, or outcome being settled with the broker). */
  readonly running = new Set<Execution>()
  /** Deliveries that arrived while every handler slot was taken, in arrival order. */
  private readonly waiting = new Deque<Execution>()
  /**
   * A handler slot is taken from the start of an execution until its outcome goes to the broker (not until the
   * broker confirmed it): concurrency bounds handlers, the subscription's prefetch bounds unsettled deliveries.
   * Holding the slot through the confirmation round trip idled handlers for no reason (a third of RabbitMQ's rate at
   * concurrency 50).
   */
  private busy = 0
  /** Set while a stop waits for running handlers: called when the last one finishes (or to cut the wait short). */
  private drained: (() => void) | undefined
  /** Set by a hard stop (second signal, `stop({ timeoutMs: 0 })` while draining): do not wait for handlers. */
  private hardStop = false

  constructor(
    private readonly runtime: WorkerRuntime,
    private readonly hooks: ExecutionHooks,
    private readonly concurrency: number,
    private readonly log: Logger,
  ) {}

  /** The subscriptions' delivery handler (one bound function per worker). */
  readonly onDelivery = (delivery: Delivery): void => {
    const execution = new Execution(delivery)
    if (this.state === 'stopping' || this.state === 'stopped') {
      void this.giveBack(execution)
      return
    }
    if (this.busy < this.concurrency) this.run(execution)
    else this.waiting.push(execution)
  }

  /** Runs a delivery now, in the slot it takes. */
  private run(execution: Execution): void {
    this.start(execution, this.claim(execution))
  }

  /**
   * Claims a slot for a waiting delivery now (so a drain cannot miss it) and starts it on a microtask: a run of
   * deliveries that settle without awaiting anything (expired, unknown task, poison) would otherwise recurse through
   * settle → next → settle.
   */
  private runNext(execution: Execution): void {
    const freeSlot = this.claim(execution)
    queueMicrotask(() => this.start(execution, freeSlot))
  }

  /** Takes a handler slot for `execution`; returns what frees it (once) and starts the next waiting delivery. */
  private claim(execution: Execution): () => void {
    this.running.add(execution)
    this.busy++
    // Assigned, not declared: a `const` arrow made per job also costs a `__name` call per job under tsx.
    execution.onSettling = () => this.freeSlot(execution)
    return execution.onSettling
  }

  /** Frees the slot of `execution` (once) and starts the next waiting delivery. */
  private freeSlot(execution: Execution): void {
    if (execution.slotFreed) return
    execution.slotFreed = true
    this.busy--
    // A stopping worker gives waiting deliveries back instead of starting them.
    if (this.state === 'stopping' || this.state === 'stopped') return
    const next = this.waiting.shift()
    if (next !== undefined) this.runNext(next)
  }

  private start(execution: Execution, freeSlot: () => void): void {
    const started = Date.now()
    // Given back by a hard stop between being claimed and started (a deferred start): nothing to run.
    const finished = execution.released
      ? Promise.resolve('released' as const)
      : execute(this.runtime, execution, this.hooks)
    void finished.then((outcome) => {
      this.processed++
      try {
        // A terminated handler that ignores its signal still runs: the hooks learn when (if ever) it stops.
        const lingering =
          execution.terminated && execution.handler !== undefined && !execution.handlerDone
            ? execution.handler.then(noop, noop)
            : undefined
        this.hooks.afterRun?.(execution.delivery.envelope, outcome, Date.now() - started, lingering)
      } catch (error) {
        this.log.error({ err: error }, 'afterRun hook threw')
      }
      this.running.delete(execution)
      freeSlot()
      if (this.running.size === 0) this.drained?.()
    })
  }

  /** Hands a delivery back to the broker unsettled (a stopping worker); a failure only delays it to its lease. */
  private async giveBack(execution: Execution): Promise<void> {
    if (execution.settled) return
    execution.released = true
    return execution.delivery.release().catch((error: unknown) => {
      this.log.warn(
        { err: error, taskId: execution.delivery.envelope.id },
        'could not release a delivery; its lease will expire',
      )
    })
  }

  /** Ids of the runs whose handlers are running now. */
  runningIds(): string[] {
    return [...this.running].filter((e) => !e.settled).map((e) => e.delivery.envelope.id)
  }

  /** Aborts the running runs of `taskId` with `TaskRevokedError`; false when none runs here. */
  terminate(taskId: string): boolean {
    let found = false
    for (const execution of this.running) {
      if (execution.delivery.envelope.id !== taskId || execution.settled) continue
      found = true
      execution.terminated = true
      execution.abort(new TaskRevokedError(taskId))
    }
    if (found) this.log.warn({ taskId }, 'task revoked while running (terminate): handler signal aborted')
    return found
  }

  /** Stop waiting for running handlers: a drain in progress (or the next one) ends at once. */
  stopNow(): void {
    this.hardStop = true
    this.drained?.()
  }

  /** Gives every delivery still waiting for a slot back to the broker. */
  async giveBackWaiting(): Promise<void> {
    const queued: Promise<void>[] = []
    for (let e = this.waiting.shift(); e !== undefined; e = this.waiting.shift()) queued.push(this.giveBack(e))
    await Promise.all(queued)
  }

  /** Waits until no handler runs, at most `timeoutMs`, unless a hard stop was asked for. */
  async drain(timeoutMs: number): Promise<void> {
    if (this.running.size === 0 || this.hardStop) return
    await new Promise<void>((resolve) => {
      // A caller's number: past 2³¹−1 ms a plain setTimeout fires at once and running tasks would be given back.
      const cancel = longTimeout(resolve, timeoutMs)
      this.drained = () => {
        cancel()
        resolve()
      }
    })
  }

  /** Aborts the runs that did not finish and gives their deliveries back; returns how many there were. */
  async giveBackUnfinished(): Promise<number> {
    const unfinished = [...this.running].filter((execution) => !execution.settled)
    for (const execution of unfinished) {
      execution.released = true
      execution.abort(new ConveyorError('CONVEYOR_WORKER_STOPPED', 'worker stopped before the task finished'))
    }
    await Promise.all(unfinished.map((execution) => this.giveBack(execution)))
    return unfinished.length
  }
}
