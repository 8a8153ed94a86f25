import { ConveyorError } from '@conveyor/core'
import { redactSecrets } from '@conveyor/core/adapter'
import { alertsCommand } from './commands/alerts'
import { dashboardCommand } from './commands/dashboard'
import { dlqCommand } from './commands/dlq'
import { enqueueCommand } from './commands/enqueue'
import { eventsCommand } from './commands/events'
import { inspectCommand } from './commands/inspect'
import { purgeCommand } from './commands/purge'
import { revokeCommand } from './commands/revoke'
import { schedulerCommand } from './commands/scheduler'
import { workerCommand } from './commands/worker'
import { EXIT, UsageError } from './errors'
import { type CliIo, processIo } from './io'

export const HELP = `Usage: conveyor <command> [options]

Commands:
  worker      run supervised worker processes for an app module
  enqueue     publish one task run
  inspect     queue counts (inspect queues) and live workers (inspect workers)
  purge       remove the waiting messages of a queue
  dlq         list, replay or purge dead letters
  revoke      skip task runs that have not started
  events      follow task and worker events from every process (--json, filters, --from)
  scheduler   run periodic tasks (scheduler), or show their next runs (scheduler list)
  dashboard   serve the web dashboard (queues, workers, tasks, dead letters, schedules)
  alerts      evaluate the app's alert rules (one evaluator per fleet) and notify

Run \`conveyor <command> --help\` for a command's options.
Exit codes: 0 done, 1 failed (one line on stderr says why), 2 wrong usage.`

type Command = (argv: readonly string[], io: CliIo) => Promise<number>

const COMMANDS: Readonly<Record<string, Command>> = {
  worker: workerCommand,
  enqueue: enqueueCommand,
  inspect: inspectCommand,
  purge: purgeCommand,
  dlq: dlqCommand,
  revoke: revokeCommand,
  events: eventsCommand,
  scheduler: schedulerCommand,
  dashboard: dashboardCommand,
  alerts: alertsCommand,
}

/** One line for the user: the message without the stack, and without core's generic prefix twice. */
function oneLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  // A URL from --broker or CONVEYOR_BROKER_URL may be quoted by whatever failed: never print its password.
  const first = redactSecrets(message.split('\n')[0] ?? '')
  return first.startsWith('[conveyor]') ? first : `[conveyor] ${first}`
}

/**
 * Run the `conveyor` command line. Resolves with the exit code (0 ok, 1 failure, 2 usage); never throws. Long-running
 * commands (worker, scheduler) resolve when they stop.
 */
export async function runCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${HELP}\n`)
    return name === undefined ? EXIT.usage : EXIT.ok
  }
  const command = COMMANDS[name]
  if (command === undefined) {
    io.stderr.write(`[conveyor] [cli] unknown command "${name}"; see conveyor --help\n`)
    return EXIT.usage
  }
  try {
    return await command(rest, io)
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`${oneLine(error)} (see conveyor ${name} --help)\n`)
      return EXIT.usage
    }
    io.stderr.write(`${oneLine(error)}\n`)
    if (!(error instanceof ConveyorError) && io.env.CONVEYOR_DEBUG)
      io.stderr.write(`${redactSecrets(String((error as Error)?.stack))}\n`)
    return EXIT.failure
  }
}
