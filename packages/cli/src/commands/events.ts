import { type ConveyorEvent, EVENT_TYPES, type EventPosition, type StoredEvent } from '@conveyor/core'
import { intOption, listOption, parse } from '../args'
import { CliError, UsageError } from '../errors'
import type { CliIo } from '../io'
import { CONNECTION_HELP, connectionOptions, withApp } from './shared'

export const EVENTS_HELP = `Usage: conveyor events [--from start|end|<offset>|<ISO time>] [filters] [options]

Follow the app's event stream: every task state change and worker change published by any process of the app,
in stream order, until Ctrl-C (or --limit). Prints one line per event; --json prints one JSON object per line
with its \`offset\` (pass it back with --from to resume right after it).
Workers publish only when their app has events on: createApp({ events: true }), or \`conveyor worker --events\`.

Options:
      --from <position>  start, end (default: only new events), an offset, or a time (2026-12-02T10:00:00Z)
      --task <name>      only this task's events (repeat or comma-separate for several)
      --queue <name>     only this queue's events
      --type <type>      only these types, e.g. task.failed,task.dead-lettered or task.* (a prefix ending in *)
                         (types: ${EVENT_TYPES.join(', ')})
      --limit <n>        stop after n events
${CONNECTION_HELP}`

export async function eventsCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values } = parse('events', argv, {
    ...connectionOptions,
    from: { type: 'string' },
    task: { type: 'string', multiple: true },
    queue: { type: 'string', multiple: true },
    type: { type: 'string', multiple: true },
    limit: { type: 'string' },
  })
  if (values.help) {
    io.stdout.write(`${EVENTS_HELP}\n`)
    return 0
  }
  const from = positionOf(values.from)
  const limit = values.limit === undefined ? undefined : intOption('events', 'limit', values.limit, 1)
  const tasks = new Set(listOption('events', 'task', values.task))
  const queues = new Set(listOption('events', 'queue', values.queue))
  const types = checkTypes(listOption('events', 'type', values.type))
  return withApp('events', values, io, async (_mod, app) => {
    if (app.events.stream === undefined) {
      throw new CliError(`events: the ${app.broker.name} broker has no event stream`)
    }
    const stop = new AbortController()
    const onSignal = () => stop.abort()
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    let printed = 0
    try {
      for await (const stored of app.events.subscribe({ from, types, signal: stop.signal })) {
        if (!matches(stored.event, tasks, queues)) continue
        // One object per line (JSON Lines), so a pipe can act on each event as it comes.
        io.stdout.write(`${values.json ? JSON.stringify({ offset: stored.offset, ...stored.event }) : line(stored)}\n`)
        if (limit !== undefined && ++printed >= limit) break
      }
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
    return 0
  })
}

/**
 * Every type must be one core emits, or end in `*` and start one (`task.*`): the stream filter takes any string,
 * and a misspelt type matched nothing, so the command waited forever printing nothing.
 */
function checkTypes(types: string[]): string[] {
  for (const type of types) {
    const known = type.endsWith('*')
      ? EVENT_TYPES.some((t) => t.startsWith(type.slice(0, -1)))
      : (EVENT_TYPES as readonly string[]).includes(type)
    if (!known) {
      throw new UsageError(
        `events: --type "${type}" is not an event type; give one of ${EVENT_TYPES.join(', ')}, or a prefix of one ` +
          'ending in * (task.*, worker.*)',
      )
    }
  }
  return types
}

function positionOf(value: string | undefined): EventPosition {
  if (value === undefined || value === 'end') return 'end'
  if (value === 'start') return 'start'
  // A time has a date in it; offsets are digits, dashes and colons only.
  if (/^\d{4}-\d{2}-\d{2}/.test(value) && /[T:\s]|^\d{4}-\d{2}-\d{2}$/.test(value) && !/^\d+-\d+:\d+$/.test(value)) {
    const time = Date.parse(value)
    if (Number.isNaN(time)) throw new UsageError(`events: --from "${value}" is not a valid time`)
    return { time }
  }
  return { after: value }
}

function matches(event: ConveyorEvent, tasks: ReadonlySet<string>, queues: ReadonlySet<string>): boolean {
  if (tasks.size === 0 && queues.size === 0) return true
  if (!('task' in event)) return false
  return (tasks.size === 0 || tasks.has(event.task)) && (queues.size === 0 || queues.has(event.queue))
}

/** `2026-12-02T10:00:00.000Z task.failed email.send 1a2b3c4d… queue=emails attempt=2 worker=… Error: message` */
function line({ event }: StoredEvent): string {
  const when = new Date(event.at).toISOString()
  if (!('task' in event)) {
    const extra = event.type === 'worker.heartbeat' ? ` active=${event.active} processed=${event.processed}` : ''
    return `${when} ${event.type} ${event.worker}${extra}`
  }
  const parts = [when, event.type, event.task, event.id, `queue=${event.queue}`, `attempt=${event.attempt}`]
  if (event.worker !== undefined) parts.push(`worker=${event.worker}`)
  if (event.type === 'task.retried') parts.push(`retry in ${event.delayMs} ms`)
  if (event.type === 'task.dead-lettered') parts.push(`reason=${event.reason}`)
  if ('durationMs' in event) parts.push(`${event.durationMs} ms`)
  const error = 'error' in event ? event.error : undefined
  if (error !== undefined) parts.push(`${error.name}: ${error.message.split('\n')[0]}`)
  return parts.join(' ')
}
