import { revokeTask } from '@conveyor/core/adapter'
import { intOption, parse } from '../args'
import { CliError, UsageError } from '../errors'
import { json } from '../format'
import type { CliIo } from '../io'
import { CONNECTION_HELP, connectionOptions, withApp } from './shared'

export const REVOKE_HELP = `Usage: conveyor revoke <task-id…> [--ttl ms] [--terminate] [options]

Mark task runs revoked: workers using the app's \`coordination\` store ack them without running them (recorded
\`revoked\`). A run that already started is not interrupted, unless --terminate.

Options:
      --ttl <ms>         how long the revoke is remembered (default 86400000, a day)
      --terminate        also stop runs already running: under \`conveyor worker\` the handler's signal aborts,
                         and its process is killed and replaced after the grace period (--terminate-grace);
                         the run ends \`revoked\`, never retried
${CONNECTION_HELP}`

export async function revokeCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse('revoke', argv, {
    ...connectionOptions,
    ttl: { type: 'string' },
    terminate: { type: 'boolean' },
  })
  if (values.help) {
    io.stdout.write(`${REVOKE_HELP}\n`)
    return 0
  }
  if (positionals.length === 0) throw new UsageError('revoke: expected at least one <task-id>')
  const ttl = intOption('revoke', 'ttl', values.ttl, 86_400_000)
  return withApp('revoke', values, io, async (mod) => {
    if (!mod.coordination)
      throw new CliError('revoke needs a coordination store: export `coordination` from the app module')
    for (const id of positionals)
      await revokeTask(mod.coordination, id, { ttlMs: ttl, terminate: values.terminate === true })
    io.stdout.write(values.json ? json({ revoked: positionals }) : `revoked ${positionals.length} task(s)\n`)
    return 0
  })
}
