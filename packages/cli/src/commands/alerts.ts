import { type Alerts, createAlerts, logNotifier, type Notifier, webhookNotifier } from '@conveyor/core'
import { createMemoryCoordination, validateRules } from '@conveyor/core/adapter'
import { intOption, listOption, parse, splitList } from '../args'
import { CliError, UsageError } from '../errors'
import type { CliIo } from '../io'
import { type AppModule, connectOrFail, loadAppModule } from '../load-app'

export const ALERTS_HELP = `Usage: conveyor alerts --app <module> [--webhook <url>] [--interval <ms>] [--lease-ttl <ms>]

Evaluates the alert rules the app module exports as \`alerts\` ({ rules, notifiers?, intervalMs?, leaseTtlMs? } or an
array of rules) and notifies when one fires or resolves. Run several for availability: with a shared \`coordination\`
store (Redis) exactly one evaluates, and another takes over within the lease when it dies. SIGTERM/SIGINT stops it.

Notifications always go to the log; --webhook adds a JSON webhook (Slack-compatible \`text\` field), retried with
backoff without holding up evaluation.

Options:
  -A, --app <module>     app module exporting the app, \`alerts\` and \`coordination\`; or CONVEYOR_APP
  -w, --webhook <url>    POST notifications here (repeatable); or CONVEYOR_ALERTS_WEBHOOK
  -i, --interval <ms>    evaluation interval (overrides the module's; default 15000)
      --lease-ttl <ms>   evaluator lease TTL, the failover time (overrides the module's leaseTtlMs; default
                         30000). (Old name, deprecated: --lease)
  -h, --help             this help`

/** What `startModuleAlerts` was asked for beside the module. */
export interface ModuleAlertsOptions {
  /** Webhook URLs added to the module's notifiers. */
  readonly webhooks?: readonly string[]
  readonly intervalMs?: number
  readonly leaseTtlMs?: number
}

/**
 * Start evaluating the alerts an app module declares, in this process: what `conveyor alerts` runs, and what another
 * long-running command (the dashboard) calls to evaluate alerts beside its own work. Competes for the evaluator lease
 * on the module's `coordination` store, so running it in several processes still notifies once. Undefined when the
 * module declares no alerts. The caller connects the app first and calls `stop()` before closing it.
 */
export async function startModuleAlerts(
  mod: AppModule,
  options: ModuleAlertsOptions = {},
): Promise<(Alerts & { flush(): Promise<void> }) | undefined> {
  const config = mod.alerts
  if (config === undefined || config.rules.length === 0) return undefined
  const { app } = mod
  const log = app.logger.child({ component: 'alerts' })
  const hooks = (options.webhooks ?? []).map((url) => webhookNotifier({ url, logger: log }))
  const notifiers: Notifier[] = [...(config.notifiers ?? []), logNotifier(log), ...hooks]
  const coordination = mod.coordination ?? app.coordination
  if (coordination.scope === 'process') {
    log.warn('no shared `coordination` exported: every `conveyor alerts` process evaluates; run one at most')
  }
  const alerts = createAlerts(app, {
    ...config,
    ...(options.intervalMs !== undefined ? { intervalMs: options.intervalMs } : {}),
    ...(options.leaseTtlMs !== undefined ? { leaseTtlMs: options.leaseTtlMs } : {}),
    notifiers,
    coordination,
    logger: log,
  })
  await alerts.start()
  return Object.assign(alerts, { flush: () => Promise.all(hooks.map((h) => h.flush())).then(() => undefined) })
}

/**
 * The webhooks to notify: `--webhook`, else `CONVEYOR_ALERTS_WEBHOOK` (comma-separated), else its deprecated name
 * `CONVEYOR_ALERT_WEBHOOK` (read for one release).
 */
export function alertWebhooks(flag: readonly string[] | undefined, env: CliIo['env']): string[] {
  if (flag !== undefined) return listOption('alerts', 'webhook', flag)
  // An empty variable is an unset one here, as shells and container specs have it.
  return splitList(env.CONVEYOR_ALERTS_WEBHOOK ?? env.CONVEYOR_ALERT_WEBHOOK ?? '')
}

export async function alertsCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse('alerts', argv, {
    app: { type: 'string', short: 'A' },
    webhook: { type: 'string', short: 'w', multiple: true },
    interval: { type: 'string', short: 'i' },
    'lease-ttl': { type: 'string' },
    // Deprecated name of --lease-ttl, accepted for one release.
    lease: { type: 'string' },
  })
  if (values.help) {
    io.stdout.write(`${ALERTS_HELP}\n`)
    return 0
  }
  if (positionals.length > 0) throw new UsageError(`alerts: unexpected ${positionals.join(' ')}`)
  const specifier = values.app ?? io.env.CONVEYOR_APP
  if (!specifier) throw new UsageError('alerts: --app <module> is required (or CONVEYOR_APP)')
  const intervalMs = values.interval === undefined ? undefined : intOption('alerts', 'interval', values.interval, 0, 10)
  const leaseFlag = values['lease-ttl'] === undefined ? 'lease' : 'lease-ttl'
  const leaseValue = values['lease-ttl'] ?? values.lease
  const leaseTtlMs = leaseValue === undefined ? undefined : intOption('alerts', leaseFlag, leaseValue, 0, 300)
  const webhooks = alertWebhooks(values.webhook, io.env)
  const mod = await loadAppModule(specifier, io.cwd)
  if (!mod.alerts || mod.alerts.rules.length === 0) {
    throw new CliError(`${specifier} exports no \`alerts\`: export { rules: [{ name, kind, … }] } or an array of rules`)
  }
  try {
    validateRules(mod.alerts.rules)
  } catch (error) {
    throw new CliError((error as Error).message.replace(/^\[conveyor\] /, ''), { cause: error })
  }
  const coordination = mod.coordination ?? createMemoryCoordination()
  try {
    await connectOrFail(mod.app)
    const alerts = await startModuleAlerts(
      { ...mod, coordination },
      {
        webhooks,
        ...(intervalMs !== undefined ? { intervalMs } : {}),
        ...(leaseTtlMs !== undefined ? { leaseTtlMs } : {}),
      },
    )
    mod.app.logger.info({ rules: mod.alerts.rules.map((r) => r.name), evaluator: alerts?.id }, 'alerts started')
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', () => resolve())
      process.once('SIGINT', () => resolve())
    })
    await alerts?.stop()
    await alerts?.flush()
    return 0
  } finally {
    await mod.app.close({ timeoutMs: 0 }).catch(() => undefined)
    await coordination.close().catch(() => undefined)
  }
}
