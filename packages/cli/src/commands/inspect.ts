import { listOption, parse } from '../args'
import { CliError, UsageError } from '../errors'
import { isoOrDash, json, table } from '../format'
import type { CliIo } from '../io'
import { CONNECTION_HELP, connectionOptions, withApp } from './shared'

export const INSPECT_HELP = `Usage: conveyor inspect queues [queue…] [options]
       conveyor inspect workers [options]

queues   ready, in-flight, delayed and dead counts per queue (default: every queue when the broker can list
         them, else the queues of the app's tasks)
workers  live workers from their heartbeats (needs \`coordination\` exported by the app module); a worker
         that stopped beating drops out after its heartbeat TTL

Options:
  -Q, --queues <a,b>     queues to show (as well as positional names)
${CONNECTION_HELP}`

export async function inspectCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse('inspect', argv, {
    ...connectionOptions,
    queues: { type: 'string', short: 'Q', multiple: true },
  })
  const [what, ...names] = positionals
  if (values.help) {
    io.stdout.write(`${INSPECT_HELP}\n`)
    return 0
  }
  if (what === 'queues') {
    const listed = [...names, ...listOption('inspect', 'queues', values.queues)]
    return withApp('inspect', values, io, async (_mod, app) => {
      let queues = listed
      if (queues.length === 0 && app.broker.listQueues) queues = await app.broker.listQueues()
      if (queues.length === 0) {
        const known = new Set<string>(['default'])
        for (const task of app.tasks()) if (task.settings.queue) known.add(task.settings.queue)
        queues = [...known]
      }
      const rows = []
      for (const queue of queues) rows.push({ queue, ...(await app.broker.stats(queue)) })
      io.stdout.write(
        values.json
          ? json(rows)
          : table(
              ['QUEUE', 'READY', 'IN-FLIGHT', 'DELAYED', 'DEAD'],
              rows.map((r) => [r.queue, r.ready, r.inFlight, r.delayed, r.dead]),
            ),
      )
      return 0
    })
  }
  if (what === 'workers') {
    if (names.length > 0) throw new UsageError('inspect workers takes no names')
    return withApp('inspect', values, io, async (mod) => {
      if (!mod.coordination) {
        throw new CliError('inspect workers needs a coordination store: export `coordination` from the app module')
      }
      const beats = await mod.coordination.listHeartbeats()
      io.stdout.write(
        values.json
          ? json(beats)
          : table(
              ['ID', 'POOL', 'PID', 'STATE', 'QUEUES', 'ACTIVE', 'PROCESSED', 'RSS-MB', 'LAST-BEAT'],
              beats.map((b) => [
                b.id,
                b.pool ?? '-',
                b.pid,
                b.state,
                b.queues.join(','),
                b.active,
                b.processed,
                b.rssBytes === undefined ? '-' : Math.round(b.rssBytes / 1048576),
                isoOrDash(b.at),
              ]),
            ),
      )
      return 0
    })
  }
  throw new UsageError(`inspect: expected "queues" or "workers", got ${what === undefined ? 'nothing' : `"${what}"`}`)
}
