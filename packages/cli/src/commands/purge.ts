import { parse } from '../args'
import { UsageError } from '../errors'
import { json } from '../format'
import type { CliIo } from '../io'
import { CONNECTION_HELP, connectionOptions, withApp } from './shared'

export const PURGE_HELP = `Usage: conveyor purge <queue> [--yes] [options]

Remove every ready and delayed message of <queue> (not in-flight ones, not dead letters).
Asks first on a terminal; elsewhere (scripts, CI) --yes is required.

Options:
  -y, --yes              do not ask
${CONNECTION_HELP}`

/** Ask, or require --yes when nobody can answer. Resolves false when the user said no. */
export async function confirmOrRequireYes(command: string, question: string, yes: boolean | undefined, io: CliIo) {
  if (yes) return true
  if (!io.confirm) throw new UsageError(`${command}: refusing without --yes (stdin is not a terminal to ask on)`)
  return io.confirm(question)
}

export async function purgeCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse('purge', argv, { ...connectionOptions, yes: { type: 'boolean', short: 'y' } })
  if (values.help) {
    io.stdout.write(`${PURGE_HELP}\n`)
    return 0
  }
  const [queue, ...rest] = positionals
  if (queue === undefined || rest.length > 0) throw new UsageError('purge: expected exactly one <queue>')
  return withApp('purge', values, io, async (_mod, app) => {
    const stats = await app.broker.stats(queue)
    const pending = stats.ready + stats.delayed
    if (!(await confirmOrRequireYes('purge', `Remove ${pending} message(s) from "${queue}"?`, values.yes, io))) {
      io.stderr.write('purge: nothing removed\n')
      return 1
    }
    const removed = await app.broker.purge(queue)
    io.stdout.write(values.json ? json({ queue, removed }) : `removed ${removed} message(s) from ${queue}\n`)
    return 0
  })
}
