import type { DashboardAuth } from '@conveyor/dashboard'
import { intOption, listOption, parse } from '../args'
import { CliError, UsageError } from '../errors'
import type { CliIo } from '../io'
import { appFor, connectOrFail } from '../load-app'

export const DASHBOARD_HELP = `Usage: conveyor dashboard --app <module> | --broker <url> [--results <url>] [options]

Serves the web dashboard (queues, workers, task runs, dead letters, schedules; live) until SIGTERM/SIGINT.
With --app it also shows the module's \`coordination\` (workers, revoke) and \`schedules\`.

Without auth it listens on 127.0.0.1 only; any other --host needs --basic-auth or --token.

Options:
  -A, --app <module>          app module (default export or \`app\`); or CONVEYOR_APP
  -b, --broker <url>          broker URL when there is no app module; or CONVEYOR_BROKER_URL
  -r, --results <url>         result backend URL with --broker (task results, history); or CONVEYOR_RESULTS_URL
  -p, --port <port>           default 8080 (0 picks a free one)
      --host <address>        default 127.0.0.1
      --base-path <path>      serve under this path, e.g. /conveyor (behind a proxy)
      --basic-auth <u:p>      HTTP basic auth; better: CONVEYOR_DASHBOARD_BASIC_AUTH (not in \`ps\`)
      --token <token>         require Authorization: Bearer <token>; or CONVEYOR_DASHBOARD_TOKEN
      --read-only             show everything, change nothing (no purge, replay, revoke)
  -Q, --queues <a,b>          queues to show besides those the broker lists
      --title <text>          page title
  -h, --help                  this help

Replicas behind one load balancer need the same CONVEYOR_DASHBOARD_SECRET (it signs the CSRF token).`

function authFrom(basic: string | undefined, token: string | undefined): DashboardAuth | undefined {
  if (basic !== undefined && token !== undefined)
    throw new UsageError('dashboard: give --basic-auth or --token, not both')
  if (token !== undefined) {
    if (token.trim() === '') throw new UsageError('dashboard: --token is empty')
    return { bearer: token }
  }
  if (basic === undefined) return undefined
  const colon = basic.indexOf(':')
  if (colon < 1 || colon === basic.length - 1) {
    throw new UsageError('dashboard: --basic-auth takes <user>:<password>, both non-empty')
  }
  return { basic: { username: basic.slice(0, colon), password: basic.slice(colon + 1) } }
}

async function loadDashboard(): Promise<typeof import('@conveyor/dashboard')> {
  try {
    return await import('@conveyor/dashboard')
  } catch (error) {
    throw new CliError('conveyor dashboard needs @conveyor/dashboard: npm i @conveyor/dashboard', { cause: error })
  }
}

export async function dashboardCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse('dashboard', argv, {
    app: { type: 'string', short: 'A' },
    broker: { type: 'string', short: 'b' },
    results: { type: 'string', short: 'r' },
    port: { type: 'string', short: 'p' },
    host: { type: 'string' },
    'base-path': { type: 'string' },
    'basic-auth': { type: 'string' },
    token: { type: 'string' },
    'read-only': { type: 'boolean' },
    queues: { type: 'string', short: 'Q', multiple: true },
    title: { type: 'string' },
  })
  if (values.help) {
    io.stdout.write(`${DASHBOARD_HELP}\n`)
    return 0
  }
  if (positionals.length > 0) throw new UsageError(`dashboard: unexpected ${positionals.join(' ')}`)
  const port = intOption('dashboard', 'port', values.port, 8080, 0, 65_535)
  const queues = listOption('dashboard', 'queues', values.queues)
  const auth = authFrom(
    values['basic-auth'] ?? io.env.CONVEYOR_DASHBOARD_BASIC_AUTH,
    values.token ?? io.env.CONVEYOR_DASHBOARD_TOKEN,
  )
  const { serveDashboard, DashboardAuthRequiredError } = await loadDashboard()
  const results = values.results ?? io.env.CONVEYOR_RESULTS_URL
  const mod = await appFor('dashboard', { ...values, results, sharedCoordination: true }, io)
  try {
    await connectOrFail(mod.app)
    // Connect the history and load its list script now, so the first page a user opens does not pay for it.
    await mod.app.history?.list({ limit: 1 }).catch(() => undefined)
    const served = await serveDashboard({
      app: mod.app,
      port,
      ...(values.host !== undefined ? { host: values.host } : {}),
      ...(auth ? { auth } : {}),
      ...(mod.coordination ? { coordination: mod.coordination } : {}),
      ...(mod.schedules ? { schedules: mod.schedules } : {}),
      ...(values['base-path'] !== undefined ? { basePath: values['base-path'] } : {}),
      ...(values['read-only'] ? { readOnly: true } : {}),
      ...(values.title !== undefined ? { title: values.title } : {}),
      ...(io.env.CONVEYOR_DASHBOARD_SECRET ? { secret: io.env.CONVEYOR_DASHBOARD_SECRET } : {}),
      queues,
    }).catch((error: unknown) => {
      if (error instanceof DashboardAuthRequiredError) throw new CliError(error.message, { cause: error })
      throw new CliError(`cannot serve the dashboard: ${(error as Error).message}`, { cause: error })
    })
    io.stdout.write(`dashboard listening on ${served.url}${auth ? '' : ' (no auth: loopback clients only)'}\n`)
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', () => resolve())
      process.once('SIGINT', () => resolve())
    })
    await served.close()
    return 0
  } finally {
    await mod.app.close({ timeoutMs: 0 }).catch(() => undefined)
    await mod.coordination?.close().catch(() => undefined)
  }
}
