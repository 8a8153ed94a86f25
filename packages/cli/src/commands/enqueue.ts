import { MAX_PRIORITY, MIN_PRIORITY, safeJsonParse } from '@conveyor/core/adapter'
import { intOption, parse } from '../args'
import { CliError, UsageError } from '../errors'
import { json } from '../format'
import type { CliIo } from '../io'
import { CONNECTION_HELP, connectionOptions, withApp } from './shared'

export const ENQUEUE_HELP = `Usage: conveyor enqueue <task> <json-input> [options]

Publish one run of <task> with <json-input> (JSON text; '-' is not supported, quote it in the shell).
Prints the task id (or {id, task, queue, duplicate} with --json).

Options:
  -q, --queue <name>       queue to publish to (default: the app's routing)
  -p, --priority <0-9>     higher runs first
  -d, --delay <ms>         run no earlier than this many ms from now
      --wait <ms>          wait up to <ms> for the result and print it (needs a result backend)
      --idempotency-key <key>
                           publish once per key and task within the window; a repeat publishes nothing
                           and prints the first job's id. Needs a shared coordination store: the app's
                           (createApp({ coordination })), or the broker's Redis with --broker redis://…
      --idempotency-ttl <ms>
                           the key's window (default: the task's, then the app's: 24 h)
${CONNECTION_HELP}`

export async function enqueueCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse('enqueue', argv, {
    ...connectionOptions,
    queue: { type: 'string', short: 'q' },
    priority: { type: 'string', short: 'p' },
    delay: { type: 'string', short: 'd' },
    wait: { type: 'string' },
    'idempotency-key': { type: 'string' },
    'idempotency-ttl': { type: 'string' },
  })
  if (values.help) {
    io.stdout.write(`${ENQUEUE_HELP}\n`)
    return 0
  }
  const [task, text, ...rest] = positionals
  if (task === undefined || text === undefined || rest.length > 0) {
    throw new UsageError('enqueue: expected <task> <json-input>, e.g. conveyor enqueue email.send \'{"to":"a@b.c"}\'')
  }
  let input: unknown
  try {
    input = safeJsonParse(text)
  } catch {
    throw new UsageError(`enqueue: <json-input> is not JSON: ${text.slice(0, 80)}`)
  }
  // Core refuses others too, but only once connected: checked here it is wrong usage (exit 2) with nothing contacted.
  const priority =
    values.priority === undefined
      ? undefined
      : intOption('enqueue', 'priority', values.priority, 0, MIN_PRIORITY, MAX_PRIORITY)
  const delayMs = values.delay === undefined ? undefined : intOption('enqueue', 'delay', values.delay, 0, 0)
  const waitMs = values.wait === undefined ? undefined : intOption('enqueue', 'wait', values.wait, 1)
  const idempotencyKey = values['idempotency-key']
  const ttl = values['idempotency-ttl']
  if (ttl !== undefined && idempotencyKey === undefined) {
    throw new UsageError('enqueue: --idempotency-ttl goes with --idempotency-key')
  }
  const idempotencyTtlMs = ttl === undefined ? undefined : intOption('enqueue', 'idempotency-ttl', ttl, 1)
  const sharedCoordination = idempotencyKey !== undefined
  return withApp('enqueue', { ...values, sharedCoordination }, io, async (_mod, app) => {
    if (sharedCoordination && app.coordination.scope !== 'shared') {
      // Every `conveyor enqueue` is a process of its own: a store inside it never sees an earlier run's key.
      throw new CliError(
        'enqueue: --idempotency-key needs a shared coordination store, or every run would publish: pass ' +
          'createApp({ coordination: createRedisCoordination(…) }) in the --app module, or use --broker redis://…',
      )
    }
    const job = await app.enqueue(task, input, {
      ...(values.queue !== undefined ? { queue: values.queue } : {}),
      ...(priority !== undefined ? { priority } : {}),
      ...(delayMs !== undefined ? { delayMs } : {}),
      ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
      ...(idempotencyTtlMs !== undefined ? { idempotencyTtlMs } : {}),
    })
    if (job.duplicate) io.stderr.write('duplicate of an earlier enqueue with this key: nothing was published\n')
    let result: unknown
    if (waitMs !== undefined) {
      try {
        result = await job.result({ timeoutMs: waitMs })
      } catch (error) {
        throw new CliError(`task ${job.id} did not succeed: ${(error as Error).message.replace(/^\[conveyor\] /, '')}`)
      }
    }
    if (values.json) {
      const fields = { id: job.id, task, queue: job.queue, duplicate: job.duplicate }
      io.stdout.write(json({ ...fields, ...(waitMs !== undefined ? { result } : {}) }))
    } else {
      io.stdout.write(`${job.id}\n`)
      if (waitMs !== undefined) io.stdout.write(`${JSON.stringify(result)}\n`)
    }
    return 0
  })
}
