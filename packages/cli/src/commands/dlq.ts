import type { DeadLetter } from '@conveyor/core/adapter'
import { replayDeadLetters } from '@conveyor/core/adapter'
import { intOption, parse } from '../args'
import { UsageError } from '../errors'
import { isoOrDash, json, table } from '../format'
import type { CliIo } from '../io'
import { confirmOrRequireYes } from './purge'
import { CONNECTION_HELP, connectionOptions, withApp } from './shared'

export const DLQ_HELP = `Usage: conveyor dlq list <queue> [--filter f…] [--limit n] [options]
       conveyor dlq replay <queue> [--filter f…] [--limit n] [--dry-run] [options]
       conveyor dlq purge <queue> [--filter f…] [--dry-run] [--yes] [options]

Dead letters of <queue>, oldest first. replay puts them back on the queue (attempt reset to 1); purge deletes them.

Filters (repeatable, all must match):
  task=<glob>     task name, * matches anything (task=email.*)
  reason=<r>      max-attempts, unrecoverable, max-deliveries, unknown-task, malformed, invalid-input
  id=<id>         one dead letter
  <text>          substring of the task name, reason or error message

Options:
  -f, --filter <f>       see above
  -n, --limit <n>        at most n dead letters (default: all for replay/purge, 100 for list)
      --dry-run          show what replay/purge would touch, change nothing
  -y, --yes              purge without asking
${CONNECTION_HELP}`

/** A dead-letter predicate from `--filter` values. */
export function deadLetterFilter(filters: readonly string[]): (dead: DeadLetter) => boolean {
  const tests = filters.map((f): ((d: DeadLetter) => boolean) => {
    const eq = /^(task|reason|id)=(.*)$/.exec(f)
    if (eq) {
      const [, key, value] = eq as unknown as [string, 'task' | 'reason' | 'id', string]
      if (key === 'task') {
        const re = new RegExp(`^${value.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`)
        return (d) => re.test(d.envelope?.task ?? '')
      }
      if (key === 'reason') return (d) => d.reason === value
      return (d) => d.id === value
    }
    const text = f.toLowerCase()
    return (d) => [d.envelope?.task, d.reason, d.error?.message].some((s) => s?.toLowerCase().includes(text))
  })
  return (d) => tests.every((t) => t(d))
}

async function listAll(list: (offset: number) => Promise<DeadLetter[]>, limit: number): Promise<DeadLetter[]> {
  const all: DeadLetter[] = []
  for (let offset = 0; ; offset += 500) {
    const page = await list(offset)
    all.push(...page)
    if (page.length < 500 || all.length >= limit * 10 + 10_000) return all
  }
}

export async function dlqCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse('dlq', argv, {
    ...connectionOptions,
    filter: { type: 'string', short: 'f', multiple: true },
    limit: { type: 'string', short: 'n' },
    'dry-run': { type: 'boolean' },
    yes: { type: 'boolean', short: 'y' },
  })
  if (values.help) {
    io.stdout.write(`${DLQ_HELP}\n`)
    return 0
  }
  const [action, queue, ...rest] = positionals
  if (action !== 'list' && action !== 'replay' && action !== 'purge') {
    throw new UsageError(`dlq: expected list, replay or purge, got ${action === undefined ? 'nothing' : `"${action}"`}`)
  }
  if (queue === undefined || rest.length > 0) throw new UsageError(`dlq ${action}: expected exactly one <queue>`)
  const limit = intOption('dlq', 'limit', values.limit, action === 'list' ? 100 : Number.MAX_SAFE_INTEGER)
  const filters = values.filter ?? []
  const matches = deadLetterFilter(filters)
  return withApp('dlq', values, io, async (_mod, app) => {
    const store = app.broker.deadLetters
    const selected = (await listAll((offset) => store.list(queue, { offset, limit: 500 }), limit))
      .filter(matches)
      .slice(0, limit)
    if (action === 'list' || values['dry-run']) {
      if (values.json) {
        io.stdout.write(
          json(action === 'list' ? selected : { action, queue, dryRun: true, ids: selected.map((d) => d.id) }),
        )
      } else {
        io.stdout.write(
          table(
            ['ID', 'TASK', 'REASON', 'ATTEMPTS', 'DEAD-AT', 'ERROR'],
            selected.map((d) => [
              d.id,
              d.envelope?.task ?? '(malformed)',
              d.reason,
              d.attempts,
              isoOrDash(d.deadAt),
              (d.error?.message ?? '').split('\n')[0]!.slice(0, 80),
            ]),
          ),
        )
        if (action !== 'list')
          io.stdout.write(`dry run: would ${action} ${selected.length} dead letter(s) of ${queue}\n`)
      }
      return 0
    }
    const ids = selected.map((d) => d.id)
    if (ids.length === 0) {
      io.stdout.write(values.json ? json({ action, queue, count: 0 }) : `no dead letters of ${queue} match\n`)
      return 0
    }
    if (action === 'purge') {
      const ok = await confirmOrRequireYes(
        'dlq purge',
        `Delete ${ids.length} dead letter(s) of "${queue}"?`,
        values.yes,
        io,
      )
      if (!ok) {
        io.stderr.write('dlq purge: nothing deleted\n')
        return 1
      }
    }
    const count =
      action === 'replay'
        ? await replayDeadLetters({ app, queue, deadLetters: selected })
        : await store.purge(queue, ids)
    io.stdout.write(
      values.json
        ? json({ action, queue, count })
        : `${action === 'replay' ? 'replayed' : 'deleted'} ${count} dead letter(s) of ${queue}\n`,
    )
    return 0
  })
}
