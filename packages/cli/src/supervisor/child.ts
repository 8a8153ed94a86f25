import {
  type AppMetrics,
  collectMetrics,
  composeHooks,
  type ExecutionHooks,
  type Heartbeat,
  rateLimitHooks,
  revokeHooks,
  startHeartbeat,
  type Worker,
} from '@conveyor/core'
import { type HardLimitKill, hardLimitHooks, type MetricsSnapshot } from '@conveyor/core/adapter'
import { loadAppModule } from '../load-app'
import { CHILD_CONFIG_ENV, type ChildConfig, type ChildMessage, type SupervisorMessage } from './messages'

/**
 * The worker process a supervisor forks: load the app module, run one worker on the pool's queues, report to the
 * supervisor over IPC (ready, each task's start and end for hard time limits, counters), and stop when told.
 *
 * Hard time limits: the supervisor kills the process of an attempt that outlives its task's limit and tells the
 * other children (and records it in the coordination store, for other supervisors); the redelivered attempt then
 * fails here with `TaskTimeoutError` before running, so the retry policy decides rather than `maxDeliveries`.
 *
 * Signals: the supervisor forwards stops as IPC messages. A SIGTERM sent to this process directly (systemd's
 * control-group kill, `kill <pid>`) is the same graceful stop, so a signal plus the forwarded message count once;
 * a second signal stops at once. SIGINT is ignored: a terminal's Ctrl+C reaches the supervisor, which forwards it.
 */
export async function runChild(config: ChildConfig): Promise<void> {
  // The last message handed to the IPC channel, resolved once written: exit waits for it.
  let written: Promise<void> = Promise.resolve()
  const send = (message: ChildMessage) => {
    if (!process.connected || process.send === undefined) return
    written = new Promise<void>((resolve) => {
      process.send?.(message, undefined, undefined, () => resolve())
    })
  }
  let mod: Awaited<ReturnType<typeof loadAppModule>>
  let worker: Worker
  let heartbeat: Heartbeat | undefined
  let metrics: AppMetrics | undefined
  let stopping: 'graceful' | 'hard' | undefined
  let signals = 0
  let warnedBaseline = false
  // Made before the module loads so kills broadcast meanwhile are not lost; the limits are known once it has.
  let limitOf: (task: string) => number | undefined = () => config.hardTimeoutMs
  let hardLimits = hardLimitHooks({ limitOf: (task) => limitOf(task) })
  // Kills heard of before the hooks are final, replayed into them then (and no longer kept after).
  let kills: HardLimitKill[] | undefined = [...(config.kills ?? [])]

  const exit = (code: number) => {
    // Let the IPC channel flush the last message (a metrics snapshot can be larger than one pipe write) before the
    // process goes; bounded, in case the supervisor stopped reading.
    const bound = new Promise<void>((resolve) => setTimeout(resolve, 2000))
    void Promise.race([written, bound]).then(() => setImmediate(() => process.exit(code)))
  }
  // Listen before start-up: a stop may arrive while the app module loads; it is acted on once the worker exists.
  let requested: 'graceful' | 'hard' | undefined
  let act: (how: 'graceful' | 'hard') => void = (how) => {
    if (requested !== 'hard') requested = how
  }
  process.on('message', (message: SupervisorMessage) => {
    if (message?.type === 'stop') act('graceful')
    else if (message?.type === 'stop-now') act('hard')
    // Before start-up finished there is nothing running to stop.
    else if (message?.type === 'terminate') (worker as Worker | undefined)?.terminate(message.id)
    else if (message?.type === 'hard-limit-killed') {
      const { type: _, ...kill } = message
      kills?.push(kill)
      hardLimits.noteKill(kill)
    }
  })
  process.on('SIGTERM', () => {
    signals++
    act(signals === 1 ? 'graceful' : 'hard')
  })
  process.on('SIGINT', () => undefined)
  // The supervisor is gone (killed -9): do not run on unsupervised; drain and leave.
  process.on('disconnect', () => act('graceful'))

  try {
    mod = await loadAppModule(config.app)
    const { app, coordination } = mod
    // Per task: the module's `hardTimeouts` override the task's own `hardTimeoutMs`; --hard-timeout covers tasks
    // that declare none.
    const declared = new Map(app.tasks().map((t) => [t.name, t.settings.hardTimeoutMs]))
    limitOf = (task) => mod.hardTimeouts?.[task] ?? declared.get(task) ?? config.hardTimeoutMs
    if (coordination) {
      hardLimits = hardLimitHooks({ store: coordination, limitOf })
    }
    for (const kill of kills ?? []) hardLimits.noteKill(kill)
    kills = undefined
    const running = new Set<string>()
    const reporter: ExecutionHooks = {
      async beforeRun(envelope) {
        running.add(envelope.id)
        const hardLimitMs = limitOf(envelope.task)
        send({
          type: 'task-start',
          id: envelope.id,
          task: envelope.task,
          attempt: envelope.attempt,
          ...(hardLimitMs ? { hardLimitMs } : {}),
        })
        return 'run'
      },
      afterRun(envelope, outcome, _durationMs, lingering) {
        if (lingering !== undefined && running.has(envelope.id)) {
          // Terminated, but the handler ignores its signal and goes on: still reported running, so the supervisor
          // kills this process after the grace period unless the handler returns first.
          app.logger.warn(
            { taskId: envelope.id, task: envelope.task },
            'terminated task ignores its signal and is still running; its process is killed after the grace period',
          )
          void lingering.then(() => {
            if (running.delete(envelope.id)) send({ type: 'task-end', id: envelope.id, outcome })
          })
        } else if (running.delete(envelope.id)) send({ type: 'task-end', id: envelope.id, outcome })
        checkRecycle()
      },
    }
    // Cheap checks first; a killed attempt fails before it could take a rate-limit token.
    const hooks = composeHooks(
      coordination ? revokeHooks(coordination) : undefined,
      hardLimits,
      coordination && mod.rateLimits ? rateLimitHooks(coordination, mod.rateLimits) : undefined,
      reporter,
    )
    worker = app.worker({
      ...(config.queues.length > 0 ? { queues: config.queues } : {}),
      concurrency: config.concurrency,
      ...(config.prefetch !== undefined ? { prefetch: config.prefetch } : {}),
      drainTimeoutMs: config.drainTimeoutMs,
      hooks,
    })
    // Before start, so the first runs are counted. Every child reads its queues' depth; the supervisor keeps the
    // latest reading.
    if (config.metrics) metrics = collectMetrics(app, { queues: worker.queues, workers: [worker] })
    await worker.start()
    if (coordination) {
      heartbeat = startHeartbeat(coordination, worker, {
        intervalMs: config.statsIntervalMs,
        pool: config.pool,
        logger: app.logger,
        events: app.events,
      })
    }
  } catch (error) {
    if (requested !== undefined) {
      exit(0)
      return
    }
    const message = String((error as Error)?.message ?? error).split('\n')[0] ?? 'unknown error'
    send({ type: 'fatal', message: message.replace(/^\[conveyor\] (\[cli\] )?/, '') })
    exit(1)
    return
  }

  const graceful = async () => {
    if (stopping) return
    stopping = 'graceful'
    clearInterval(stats)
    await worker.stop({ timeoutMs: config.drainTimeoutMs })
    // The last runs' counts: what the supervisor keeps of this process once it has exited.
    report(metrics?.snapshot())
    await heartbeat?.stop()
    await mod.app.close().catch(() => undefined)
    exit(0)
  }
  const hard = async () => {
    if (stopping === 'hard') return
    stopping = 'hard'
    clearInterval(stats)
    // A stop with no drain time aborts running handlers and gives their deliveries back now (also when a graceful
    // drain is under way). The timer is the backstop for a handler that blocks the event loop.
    setTimeout(() => exit(0), 2000).unref()
    await Promise.all([worker.stop({ timeoutMs: 0 }).catch(() => undefined), heartbeat?.stop()])
    report(metrics?.snapshot())
    await mod.app.close({ timeoutMs: 0 }).catch(() => undefined)
    exit(0)
  }
  const recycle = (reason: string) => {
    if (stopping) return
    send({ type: 'recycle', reason })
    void graceful()
  }
  function checkRecycle() {
    // `processed` already counts the delivery whose afterRun is calling this.
    const finished = worker.processed
    if (config.maxTasksPerChild !== undefined && finished >= config.maxTasksPerChild) {
      recycle(`finished ${finished} tasks (max ${config.maxTasksPerChild})`)
    } else if (config.maxMemoryMb !== undefined && process.memoryUsage.rss() > config.maxMemoryMb * 1024 * 1024) {
      const rssMb = Math.round(process.memoryUsage.rss() / 1048576)
      if (finished > 0) recycle(`resident memory ${rssMb} MiB over ${config.maxMemoryMb} MiB`)
      else if (!warnedBaseline) {
        // Over the limit before any task ran: a fresh process would be too, so replacing it would only loop.
        warnedBaseline = true
        mod.app.logger.warn(
          { rssMb, maxMemoryMb: config.maxMemoryMb },
          'resident memory is over --max-memory-mb before any task ran; not recycling (raise the limit)',
        )
      }
    }
  }

  function report(snapshot: MetricsSnapshot | undefined) {
    send({
      type: 'stats',
      rssBytes: process.memoryUsage.rss(),
      active: worker.active,
      processed: worker.processed,
      ...(snapshot ? { metrics: snapshot } : {}),
    })
  }
  let collecting = false
  const stats = setInterval(() => {
    if (metrics === undefined) report(undefined)
    else if (!collecting) {
      // Reading queue depth takes a broker round trip; a slow one skips a report rather than piling them up.
      collecting = true
      void metrics
        .collect()
        .then(report, () => report(metrics?.snapshot()))
        .finally(() => {
          collecting = false
        })
    }
    checkRecycle()
  }, config.statsIntervalMs)

  send({ type: 'ready', workerId: worker.id, queues: worker.queues })
  act = (how) => void (how === 'graceful' ? graceful() : hard())
  if (requested !== undefined) act(requested)
}

/** Entry point when this file is the forked process. */
export function childMain(): void {
  const raw = process.env[CHILD_CONFIG_ENV]
  if (raw === undefined) {
    process.stderr.write('[conveyor] [cli] this is the worker child entry; run `conveyor worker` instead\n')
    process.exit(2)
  }
  void runChild(JSON.parse(raw) as ChildConfig)
}
