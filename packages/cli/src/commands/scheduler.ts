import { createScheduler } from '@conveyor/core'
import { createMemoryCoordination, validateSchedules } from '@conveyor/core/adapter'
import { intOption, parse } from '../args'
import { CliError, UsageError } from '../errors'
import { isoOrDash, json, table } from '../format'
import type { CliIo } from '../io'
import { type AppModule, connectOrFail, loadAppModule } from '../load-app'

export const SCHEDULER_HELP = `Usage: conveyor scheduler --app <module>
       conveyor scheduler list --app <module> [--count n] [--json]

Runs the periodic tasks the app module exports as \`schedules\` (cron with time zones, or fixed intervals).
Run several for availability: with a shared \`coordination\` store (Redis) each tick fires once among them.
SIGTERM/SIGINT stops it.

list     each schedule with its last claimed tick and its next run times

Options:
  -A, --app <module>     app module exporting the app, \`schedules\` and \`coordination\`; or CONVEYOR_APP
  -n, --count <n>        next run times to show per schedule (default 3)
      --json             machine-readable output
  -h, --help             this help`

async function load(values: { app?: string | undefined }, io: CliIo): Promise<AppModule> {
  const specifier = values.app ?? io.env.CONVEYOR_APP
  if (!specifier) throw new UsageError('scheduler: --app <module> is required (or CONVEYOR_APP)')
  const mod = await loadAppModule(specifier, io.cwd)
  if (!mod.schedules || mod.schedules.length === 0) {
    throw new CliError(`${specifier} exports no \`schedules\`: export an array of { name, cron | everyMs, task }`)
  }
  try {
    validateSchedules(mod.schedules)
  } catch (error) {
    throw new CliError((error as Error).message.replace(/^\[conveyor\] /, ''), { cause: error })
  }
  return mod
}

export async function schedulerCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse('scheduler', argv, {
    app: { type: 'string', short: 'A' },
    count: { type: 'string', short: 'n' },
    json: { type: 'boolean' },
  })
  if (values.help) {
    io.stdout.write(`${SCHEDULER_HELP}\n`)
    return 0
  }
  const [action, ...rest] = positionals
  if (rest.length > 0 || (action !== undefined && action !== 'list')) {
    throw new UsageError(`scheduler: unexpected ${[action, ...rest].join(' ')} (did you mean "scheduler list"?)`)
  }
  const mod = await load(values, io)
  const { app } = mod
  const coordination = mod.coordination ?? createMemoryCoordination()
  try {
    if (action === 'list') {
      const count = intOption('scheduler', 'count', values.count, 3)
      const scheduler = createScheduler(app, { coordination, schedules: mod.schedules!, logger: app.logger })
      const list = await scheduler.list(count)
      io.stdout.write(
        values.json
          ? json(list)
          : table(
              ['NAME', 'TASK', 'EVERY', 'MISFIRE', 'LAST', 'NEXT'],
              list.map((s) => [
                s.name,
                s.task,
                s.cron !== undefined ? `${s.cron} (${s.timezone})` : `${s.everyMs} ms`,
                s.misfire,
                isoOrDash(s.lastTick),
                s.nextTicks.map((t) => new Date(t).toISOString()).join(', '),
              ]),
            ),
      )
      return 0
    }
    if (!mod.coordination) {
      app.logger.warn('no `coordination` exported: ticks are claimed in this process only; run one scheduler at most')
    }
    await connectOrFail(app)
    const scheduler = createScheduler(app, { coordination, schedules: mod.schedules!, logger: app.logger })
    await scheduler.start()
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', () => resolve())
      process.once('SIGINT', () => resolve())
    })
    await scheduler.stop()
    return 0
  } finally {
    await app.close({ timeoutMs: 0 }).catch(() => undefined)
    await coordination.close().catch(() => undefined)
  }
}
