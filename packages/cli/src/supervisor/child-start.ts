import {
  type App,
  type AppMetrics,
  collectMetrics,
  composeHooks,
  type ExecutionHooks,
  type Heartbeat,
  type Logger,
  rateLimitHooks,
  revokeHooks,
  startHeartbeat,
  type Worker,
} from '@conveyor/core'
import { loadAppModule } from '../load-app'
import type { ChildHardLimits } from './child-limits'
import type { SupervisorLink } from './child-link'
import type { ChildConfig } from './messages'

/** A child's worker, running, with what it needs to stop. */
export interface StartedChild {
  readonly app: App
  readonly worker: Worker
  readonly heartbeat: Heartbeat | undefined
  readonly metrics: AppMetrics | undefined
}

interface StartContext {
  readonly link: SupervisorLink
  readonly limits: ChildHardLimits
  /** A run finished (the moment to check whether to recycle). */
  readonly onSettled: () => void
}

/** Load the app module and run one worker on the pool's queues, with its hooks, metrics and heartbeat. */
export async function startChild(
  config: ChildConfig,
  { link, limits, onSettled }: StartContext,
): Promise<StartedChild> {
  const mod = await loadAppModule(config.app)
  const { app, coordination } = mod
  // Before the worker exists, so its first event (worker.online) is published or not like the rest.
  if (config.events !== undefined) app.events.setPublishing(config.events)
  const hardLimits = limits.configure(mod)
  const reporter = reporterHooks({ link, limits, logger: app.logger, onSettled })
  // Cheap checks first; a killed attempt fails before it could take a rate-limit token.
  const hooks = composeHooks(
    coordination ? revokeHooks(coordination) : undefined,
    hardLimits,
    coordination && mod.rateLimits ? rateLimitHooks(coordination, mod.rateLimits) : undefined,
    reporter,
  )
  const worker = app.worker({
    ...(config.queues.length > 0 ? { queues: config.queues } : {}),
    concurrency: config.concurrency,
    ...(config.prefetch !== undefined ? { prefetch: config.prefetch } : {}),
    drainTimeoutMs: config.drainTimeoutMs,
    hooks,
  })
  link.attachWorker(worker)
  // Before start, so the first runs are counted. Every child reads its queues' depth; the supervisor keeps the
  // latest reading.
  const metrics = config.metrics ? collectMetrics(app, { queues: worker.queues, workers: [worker] }) : undefined
  await worker.start()
  const heartbeat = coordination
    ? startHeartbeat(coordination, worker, {
        intervalMs: config.statsIntervalMs,
        pool: config.pool,
        logger: app.logger,
        events: app.events,
      })
    : undefined
  return { app, worker, heartbeat, metrics }
}

/**
 * Tells the supervisor each run's start (with its hard limit) and end, so it can enforce hard limits. A start goes out
 * at once (before the handler could block the event loop); an end of a run without a hard limit waits for the next
 * start or the end of the tick (`task-ends`), so a busy child sends one message per run, not two.
 */
function reporterHooks({
  link,
  limits,
  logger,
  onSettled,
}: StartContext & { readonly logger: Logger }): ExecutionHooks {
  const running = new Map<string, number | undefined>()
  let ended: string[] = []
  let flushArmed = false
  const flushEnds = (): void => {
    flushArmed = false
    if (ended.length === 0) return
    link.send({ type: 'task-ends', ids: ended })
    ended = []
  }
  const reportEnd = (id: string, outcome: string): void => {
    if (!running.has(id)) return
    const hardLimitMs = running.get(id)
    running.delete(id)
    if (hardLimitMs !== undefined) {
      link.send({ type: 'task-end', id, outcome })
      return
    }
    ended.push(id)
    if (!flushArmed) {
      flushArmed = true
      setImmediate(flushEnds)
    }
  }
  return {
    async beforeRun(envelope) {
      const hardLimitMs = limits.limitFor(envelope.task) || undefined
      running.set(envelope.id, hardLimitMs)
      const riding = ended.length > 0 ? ended : undefined
      if (riding !== undefined) ended = []
      link.send({
        type: 'task-start',
        id: envelope.id,
        task: envelope.task,
        attempt: envelope.attempt,
        ...(hardLimitMs ? { hardLimitMs } : {}),
        ...(riding !== undefined ? { ended: riding } : {}),
      })
      return 'run'
    },
    afterRun(envelope, outcome, _durationMs, lingering) {
      if (lingering !== undefined && running.has(envelope.id)) {
        // Terminated, but the handler ignores its signal and goes on: still reported running, so the supervisor
        // kills this process after the grace period unless the handler returns first.
        logger.warn(
          { taskId: envelope.id, task: envelope.task },
          'terminated task ignores its signal and is still running; its process is killed after the grace period',
        )
        void lingering.then(() => reportEnd(envelope.id, outcome))
      } else reportEnd(envelope.id, outcome)
      onSettled()
    },
  }
}
