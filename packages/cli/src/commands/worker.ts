import { collectMetrics, composeHooks, rateLimitHooks, revokeHooks, serveMetrics, startHeartbeat } from '@conveyor/core'
import { intOption, listOption, parse } from '../args'
import { UsageError } from '../errors'
import { applyEventsFlag } from '../events-flag'
import type { CliIo } from '../io'
import { type AppModule, connectOrFail, loadAppModule } from '../load-app'
import { checkPools, type PoolSpec, parsePool } from '../supervisor/pools'
import { createSupervisor } from '../supervisor/supervisor'
import type { SupervisorOptions } from '../supervisor/types'

export const WORKER_HELP = `Usage: conveyor worker --app <module> [options]

Runs supervised worker processes for the app module's tasks. The module exports the app (default or \`app\`; it
chooses the broker, e.g. from CONVEYOR_BROKER_URL) and optionally \`coordination\` (heartbeats, revokes, rate limits,
hard-limit kills seen by other supervisors), \`rateLimits\` and \`hardTimeouts\` (overriding tasks' hardTimeoutMs).

SIGTERM/SIGINT: stop fetching, let running tasks finish up to --drain-timeout, give the rest back, exit 0.
A second signal (or the deadline) stops at once; unfinished deliveries go back to their queues.

Options:
  -A, --app <module>              app module (.js, or .ts with tsx installed); or CONVEYOR_APP
  -Q, --queues <a,b>              queues to consume (default: the queues of the app's tasks)
  -c, --concurrency <n>           tasks at once per process (default 10)
      --prefetch <n>              deliveries a process holds unsettled, running or waiting (default: its
                                  concurrency); more keeps a fast queue busy between fetches, fewer leaves
                                  work for other processes
  -P, --processes <n>             worker processes per pool (default 1)
      --pool <name=q1,q2[:n]>     a dedicated pool (repeatable): its own processes for its queues
      --max-tasks-per-child <n>   replace a process after n tasks
      --max-memory-mb <n>         replace a process whose resident memory passes n MiB
      --hard-timeout <ms>         hard timeout for tasks that declare no hardTimeoutMs: a process whose task
                                  runs longer is killed and replaced, and that attempt fails with
                                  TaskTimeoutError (the retry policy decides). The soft limit is the task's
                                  timeoutMs: its AbortSignal fires. (Old name, deprecated: --hard-time-limit)
      --terminate-grace <ms>      how long a run revoked with --terminate may take to stop once its
                                  signal aborted before its process is killed and replaced (default 5000;
                                  needs the app module's coordination export)
      --drain-timeout <ms>        graceful stop deadline (default 25000; keep it under Kubernetes'
                                  terminationGracePeriodSeconds)
      --health-port <port>        serve /healthz and /readyz
      --metrics-port <port>       serve Prometheus metrics at /metrics: every worker process's task counts,
                                  durations, queue depth and load, added up, and the processes' own
      --restart-backoff <ms>      first restart delay of a failing process, doubling to 30 s (default 500)
      --stats-interval <ms>       how often each process reports its counts and metrics to the supervisor
                                  (default 2000, 100 to 3600000): how far /metrics lags, and what a
                                  crashed process's last counts can lose
      --events                    publish task and worker events to the broker's event stream, for
                                  \`conveyor events\`, the dashboard and task history (what the app
                                  module's createApp({ events: true }) does; off by default)
      --no-events                 publish none, even if the app module turns events on
      --inline                    run one worker in this process, unsupervised (debugging); takes -Q, -c,
                                  --prefetch, --drain-timeout, --metrics-port and --events, not the
                                  supervisor's flags
  -h, --help                      this help`

const WORKER_FLAGS = {
  app: { type: 'string', short: 'A' },
  queues: { type: 'string', short: 'Q', multiple: true },
  concurrency: { type: 'string', short: 'c' },
  prefetch: { type: 'string' },
  processes: { type: 'string', short: 'P' },
  pool: { type: 'string', multiple: true },
  'max-tasks-per-child': { type: 'string' },
  'max-memory-mb': { type: 'string' },
  'hard-timeout': { type: 'string' },
  // Deprecated name of --hard-timeout, accepted for one release.
  'hard-time-limit': { type: 'string' },
  'terminate-grace': { type: 'string' },
  'drain-timeout': { type: 'string' },
  'health-port': { type: 'string' },
  'metrics-port': { type: 'string' },
  'restart-backoff': { type: 'string' },
  'stats-interval': { type: 'string' },
  events: { type: 'boolean' },
  'no-events': { type: 'boolean' },
  inline: { type: 'boolean' },
} as const

/**
 * Flags only the supervisor acts on. The inline worker is one `app.worker()` in the CLI process: it has no pools,
 * processes to replace or kill, nor health server, so these would be accepted and do nothing (and `--pool` would
 * consume every queue of the app instead of its own).
 */
const SUPERVISOR_ONLY = [
  'pool',
  'processes',
  'max-tasks-per-child',
  'max-memory-mb',
  'hard-timeout',
  'hard-time-limit',
  'terminate-grace',
  'health-port',
  'restart-backoff',
  'stats-interval',
] as const satisfies readonly (keyof typeof WORKER_FLAGS)[]

/** What `conveyor worker`'s flags say, checked: the options of the supervisor, or of the one inline worker. */
export interface WorkerFlags {
  /** The app module (`--app`, or `CONVEYOR_APP`). */
  readonly app: string
  readonly inline: boolean
  /** Queues of the default pool (`-Q`); empty: the app's tasks' queues. */
  readonly queues: readonly string[]
  readonly concurrency: number
  readonly pools: readonly PoolSpec[]
  /** Supervisor options named as in `SupervisorOptions` (each flag is its option in kebab case, without `Ms`). */
  readonly options: Omit<SupervisorOptions, 'app' | 'pools' | 'logger' | 'coordination'> & { drainTimeoutMs: number }
}

/** Parse and check `conveyor worker`'s flags; undefined for `--help`. */
export function parseWorkerFlags(argv: readonly string[], env: CliIo['env']): WorkerFlags | undefined {
  const { values, positionals } = parse('worker', argv, WORKER_FLAGS)
  if (values.help) return undefined
  if (positionals.length > 0) throw new UsageError(`worker: unexpected argument "${positionals[0]}"`)
  const app = values.app ?? env.CONVEYOR_APP
  if (!app) throw new UsageError('worker: --app <module> is required (or CONVEYOR_APP)')
  if (values.inline) {
    const flag = SUPERVISOR_ONLY.find((name) => values[name] !== undefined)
    if (flag !== undefined) throw new UsageError(`worker: --${flag} needs the supervisor; not with --inline`)
  }
  const int = (name: keyof typeof values, fallback: number, min = 1) =>
    intOption('worker', name, values[name] as string | undefined, fallback, min)
  const optional = (name: keyof typeof values, min = 1, max?: number) =>
    values[name] === undefined ? undefined : intOption('worker', name, values[name] as string, 0, min, max)
  const concurrency = int('concurrency', 10)
  const processes = int('processes', 1)
  const queues = listOption('worker', 'queues', values.queues)
  const pools: PoolSpec[] =
    values.pool && values.pool.length > 0
      ? values.pool.map((p) => parsePool(p, concurrency, processes))
      : [{ name: 'default', queues, concurrency, processes }]
  checkPools(pools)
  if (values.pool && queues.length > 0) throw new UsageError('worker: give -Q or --pool, not both')
  const healthPort = optional('health-port', 0, 65_535)
  const metricsPort = optional('metrics-port', 0, 65_535)
  if (healthPort !== undefined && healthPort !== 0 && healthPort === metricsPort) {
    throw new UsageError(`worker: --health-port and --metrics-port must differ (both ${healthPort})`)
  }
  if (values.events && values['no-events']) throw new UsageError('worker: give --events or --no-events, not both')
  const events = values.events ? true : values['no-events'] ? false : undefined
  const options = {
    ...(events !== undefined ? { events } : {}),
    drainTimeoutMs: int('drain-timeout', 25_000, 0),
    ...optionalField('prefetch', optional('prefetch')),
    ...optionalField('maxTasksPerChild', optional('max-tasks-per-child')),
    ...optionalField('maxMemoryMb', optional('max-memory-mb')),
    ...optionalField('hardTimeoutMs', optional('hard-timeout') ?? optional('hard-time-limit')),
    ...optionalField('terminateGraceMs', optional('terminate-grace')),
    ...optionalField('healthPort', healthPort),
    ...optionalField('metricsPort', metricsPort),
    ...optionalField('statsIntervalMs', optional('stats-interval', 100, 3_600_000)),
    ...(values['restart-backoff'] !== undefined ? { restart: { baseMs: int('restart-backoff', 500) } } : {}),
  }
  return { app, inline: values.inline === true, queues, concurrency, pools, options }
}

export async function workerCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const flags = parseWorkerFlags(argv, io.env)
  if (flags === undefined) {
    io.stdout.write(`${WORKER_HELP}\n`)
    return 0
  }
  const mod = await loadAppModule(flags.app, io.cwd)
  // Here too under a supervisor (whose app only checks the connection): a warning is said once, not per process.
  applyEventsFlag(mod.app, flags.options.events)
  // Fail here, once, with one line, rather than in every child in a restart loop.
  await connectOrFail(mod.app)
  return flags.inline ? runInline(mod, flags) : runSupervised(mod, flags)
}

/** `--inline`: one worker in this process, unsupervised (debugging). */
async function runInline(mod: AppModule, flags: WorkerFlags): Promise<number> {
  const { app, coordination } = mod
  const { prefetch, drainTimeoutMs, metricsPort } = flags.options
  const worker = app.worker({
    ...(flags.queues.length > 0 ? { queues: flags.queues } : {}),
    concurrency: flags.concurrency,
    ...optionalField('prefetch', prefetch),
    drainTimeoutMs,
    handleSignals: true,
    hooks: composeHooks(
      coordination ? revokeHooks(coordination) : undefined,
      coordination && mod.rateLimits ? rateLimitHooks(coordination, mod.rateLimits) : undefined,
    ),
  })
  const metrics =
    metricsPort !== undefined ? collectMetrics(app, { queues: worker.queues, workers: [worker] }) : undefined
  await worker.start()
  const heartbeat = coordination
    ? startHeartbeat(coordination, worker, { logger: app.logger, events: app.events })
    : undefined
  const server = metrics ? await serveMetrics(metrics, { port: metricsPort! }) : undefined
  if (server) app.logger.info({ port: server.port }, 'Prometheus metrics at /metrics')
  while (worker.state !== 'stopped') await new Promise((r) => setTimeout(r, 100))
  await server?.close()
  metrics?.close()
  await heartbeat?.stop()
  await app.close()
  await coordination?.close()
  return 0
}

async function runSupervised(mod: AppModule, flags: WorkerFlags): Promise<number> {
  // The supervisor only forks; the children open their own connections. It keeps the coordination store, where it
  // records hard-limit kills for the workers of other supervisors.
  await mod.app.close({ timeoutMs: 0 })
  const supervisor = createSupervisor({
    app: mod.path,
    pools: flags.pools,
    logger: mod.app.logger,
    ...(mod.coordination ? { coordination: mod.coordination } : {}),
    ...flags.options,
  })
  supervisor.handleSignals()
  await supervisor.start()
  const code = await supervisor.done
  await mod.coordination?.close().catch(() => undefined)
  return code
}

function optionalField<K extends string>(key: K, value: number | undefined): { [P in K]?: number } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: number }
}
