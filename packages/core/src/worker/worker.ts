import { hostname } from 'node:os'
import type { Subscription } from '../contracts/broker'
import type { Delivery } from '../contracts/delivery'
import { ConveyorError } from '../errors/conveyor-error'
import { InvalidOptionsError } from '../errors/invalid-options-error'
import { TaskRevokedError } from '../errors/task-revoked-error'
import { Deque } from '../util/deque'
import { execute } from './execute'
import { Execution } from './execution'
import type { ExecutionHooks, WorkerRuntime } from './runtime'

const noop = () => undefined

export interface WorkerOptions {
  /** Queues to consume. Defaults to the queues of the tasks this app implements (and the default queue). */
  readonly queues?: readonly string[]
  /** Handlers running at once across all queues. Defaults to 10. */
  readonly concurrency?: number
  /** Deliveries each queue subscription holds unsettled. Defaults to `concurrency`. */
  readonly prefetch?: number
  /** Stop gracefully on SIGTERM/SIGINT (a second signal stops hard). Off by default; the CLI turns it on. */
  readonly handleSignals?: boolean
  /**
   * How long a graceful stop (`stop()`, SIGTERM) lets running handlers finish before their deliveries go back.
   * Defaults to 25 s (under Kubernetes' 30 s grace). The same name as the CLI's `--drain-timeout` and the supervisor's.
   */
  readonly drainTimeoutMs?: number
  /** @deprecated Use `drainTimeoutMs` (the same setting); this name goes in the next minor release. */
  readonly shutdownTimeoutMs?: number
  /** Extension points (revoke, rate limits, heartbeats); see `ExecutionHooks`. */
  readonly hooks?: ExecutionHooks
}

export type WorkerState = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped'

export interface Worker {
  /** `host:pid:n`, unique per worker. */
  readonly id: string
  readonly queues: readonly string[]
  readonly state: WorkerState
  /** Deliveries being processed now (handlers running, or outcomes being settled with the broker). */
  readonly active: number
  /** Deliveries finished since start. */
  readonly processed: number
  /** Ids of the runs whose handlers are running now. */
  runningIds(): string[]
  /**
   * Stop a running run now (`revoke(id, { terminate: true })`): its handler's signal aborts with `TaskRevokedError`
   * and the run ends `revoked`, never retried. False when this worker is not running it.
   */
  terminate(id: string): boolean
  /** Declare the queues and start consuming. Resolves once every subscription is live. */
  start(): Promise<void>
  /**
   * Stop fetching, let running handlers finish for up to `timeoutMs`, then abort the rest and give their deliveries
   * back to the broker. Resolves when nothing is held any more. Calling it again with `timeoutMs: 0` while it drains
   * stops at once (a hard stop).
   */
  stop(options?: { timeoutMs?: number }): Promise<void>
}

let workerSeq = 0

export function createWorker(app: WorkerRuntime & { queuesOf(): string[] }, options: WorkerOptions): Worker {
  const concurrency = options.concurrency ?? 10
  const prefetch = options.prefetch ?? concurrency
  const drainTimeoutMs = options.drainTimeoutMs ?? options.shutdownTimeoutMs ?? 25_000
  const hooks = options.hooks ?? {}
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new InvalidOptionsError(`worker concurrency must be an integer ≥ 1, got ${concurrency}`)
  }
  if (!(Number.isInteger(prefetch) && prefetch >= 1)) {
    throw new InvalidOptionsError(`worker prefetch must be an integer ≥ 1, got ${prefetch}`)
  }
  const queues = [...new Set(options.queues ?? app.queuesOf())]
  if (queues.length === 0) throw new InvalidOptionsError('worker has no queues to consume: pass { queues: [...] }')

  const host = hostname()
  const id = `${host}:${process.pid}:${++workerSeq}`
  const runtime: WorkerRuntime = { ...app, workerId: id }
  const log = runtime.logger.child({ worker: id })
  const running = new Set<Execution>()
  const waiting = new Deque<Execution>()
  const subscriptions: Subscription[] = []
  let state: WorkerState = 'idle'
  let processed = 0
  let drained: (() => void) | undefined
  let stopping: Promise<void> | undefined
  let signalCount = 0
  let hardStop = false

  // A handler slot is taken from the start of an execution until its outcome goes to the broker (not until the broker
  // confirmed it): concurrency bounds handlers, the subscription's prefetch bounds unsettled deliveries. Holding the
  // slot through the confirmation round trip idled handlers for no reason (a third of RabbitMQ's rate at
  // concurrency 50).
  let busy = 0
  const run = (execution: Execution, deferred = false) => {
    running.add(execution)
    busy++
    let slotFreed = false
    const freeSlot = () => {
      if (slotFreed) return
      slotFreed = true
      busy--
      // A stopping worker gives waiting deliveries back instead of starting them.
      if (state === 'stopping' || state === 'stopped') return
      const next = waiting.shift()
      // Claimed now (so a drain cannot miss it), started on a microtask: a run of deliveries that settle without
      // awaiting anything (expired, unknown task, poison) would otherwise recurse through settle → next → settle.
      if (next !== undefined) run(next, true)
    }
    execution.onSettling = freeSlot
    if (deferred) queueMicrotask(() => start(execution, freeSlot))
    else start(execution, freeSlot)
  }

  const start = (execution: Execution, freeSlot: () => void) => {
    const started = Date.now()
    // Given back by a hard stop between being claimed and started (a deferred start): nothing to run.
    const finished = execution.released ? Promise.resolve('released' as const) : execute(runtime, execution, hooks)
    void finished.then((outcome) => {
      processed++
      try {
        // A terminated handler that ignores its signal still runs: the hooks learn when (if ever) it stops.
        const lingering =
          execution.terminated && execution.handler !== undefined && !execution.handlerDone
            ? execution.handler.then(noop, noop)
            : undefined
        hooks.afterRun?.(execution.delivery.envelope, outcome, Date.now() - started, lingering)
      } catch (error) {
        log.error({ err: error }, 'afterRun hook threw')
      }
      running.delete(execution)
      freeSlot()
      if (running.size === 0) drained?.()
    })
  }

  const onDelivery = (delivery: Delivery) => {
    const execution = new Execution(delivery)
    if (state === 'stopping' || state === 'stopped') {
      giveBack(execution)
      return
    }
    if (busy < concurrency) run(execution)
    else waiting.push(execution)
  }

  const giveBack = async (execution: Execution): Promise<void> => {
    if (execution.settled) return
    execution.released = true
    return execution.delivery.release().catch((error: unknown) => {
      log.warn(
        { err: error, taskId: execution.delivery.envelope.id },
        'could not release a delivery; its lease will expire',
      )
    })
  }

  const onSignal = (signal: NodeJS.Signals) => {
    signalCount++
    if (signalCount === 1) {
      log.info({ signal }, 'stopping: finishing running tasks (send again to stop now)')
      // Then close the app: its connections would keep the process alive after the signal asked it to end.
      void worker
        .stop()
        .then(() => app.closeApp?.())
        .catch((error: unknown) => log.error({ err: error }, 'closing the app after the signal failed'))
    } else {
      log.warn({ signal }, 'stopping now: running tasks go back to the queue')
      hardStop = true
      drained?.()
    }
  }

  const worker: Worker = {
    id,
    queues,
    get state() {
      return state
    },
    get active() {
      return running.size
    },
    get processed() {
      return processed
    },
    runningIds() {
      return [...running].filter((e) => !e.settled).map((e) => e.delivery.envelope.id)
    },
    terminate(taskId) {
      let found = false
      for (const execution of running) {
        if (execution.delivery.envelope.id !== taskId || execution.settled) continue
        found = true
        execution.terminated = true
        execution.abort(new TaskRevokedError(taskId))
      }
      if (found) log.warn({ taskId }, 'task revoked while running (terminate): handler signal aborted')
      return found
    },
    async start() {
      if (state !== 'idle') throw new ConveyorError('CONVEYOR_WORKER_STATE', `worker ${id} is ${state}; make a new one`)
      state = 'starting'
      try {
        await runtime.ready()
        for (const queue of queues) await runtime.declareQueue(queue)
        for (const queue of queues) subscriptions.push(await runtime.broker.consume(queue, onDelivery, { prefetch }))
      } catch (error) {
        state = 'stopped'
        await Promise.allSettled(subscriptions.map((s) => s.cancel()))
        throw error
      }
      state = 'running'
      if (options.handleSignals) {
        process.on('SIGTERM', onSignal)
        process.on('SIGINT', onSignal)
      }
      log.info({ queues, concurrency, prefetch }, 'worker started')
      if (runtime.events.wants('worker.online')) {
        runtime.events.emit('worker.online', {
          worker: id,
          host,
          pid: process.pid,
          at: Date.now(),
          queues,
          concurrency,
        })
      }
    },
    stop(stopOptions = {}) {
      if (state === 'idle') {
        state = 'stopped'
        return Promise.resolve()
      }
      // Already draining: `stop({ timeoutMs: 0 })` cuts the drain short (a hard stop); others share the first call.
      if (stopping !== undefined && stopOptions.timeoutMs === 0) {
        hardStop = true
        drained?.()
      }
      stopping ??= (async () => {
        state = 'stopping'
        const timeoutMs = stopOptions.timeoutMs ?? drainTimeoutMs
        await Promise.allSettled(subscriptions.map((s) => s.cancel()))
        const queued: Promise<void>[] = []
        for (let e = waiting.shift(); e !== undefined; e = waiting.shift()) queued.push(giveBack(e))
        await Promise.all(queued)
        if (running.size > 0 && !hardStop) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, timeoutMs)
            drained = () => {
              clearTimeout(timer)
              resolve()
            }
          })
        }
        const unfinished = [...running].filter((execution) => !execution.settled)
        for (const execution of unfinished) {
          execution.released = true
          execution.abort(new ConveyorError('CONVEYOR_WORKER_STOPPED', 'worker stopped before the task finished'))
        }
        await Promise.all(unfinished.map(giveBack))
        if (unfinished.length > 0) log.warn({ count: unfinished.length }, 'gave unfinished tasks back to the queue')
        if (options.handleSignals) {
          process.off('SIGTERM', onSignal)
          process.off('SIGINT', onSignal)
        }
        state = 'stopped'
        log.info({ processed }, 'worker stopped')
        if (runtime.events.wants('worker.offline')) {
          runtime.events.emit('worker.offline', { worker: id, host, pid: process.pid, at: Date.now(), processed })
        }
      })()
      return stopping
    },
  }
  return worker
}
