import { type Envelope, MAX_ATTEMPTS_HEADER } from '../contracts/envelope'
import { InvalidOptionsError } from '../errors/invalid-options-error'
import { UnsupportedError } from '../errors/unsupported-error'
import type { TaskDeclaration } from '../task/task'
import { validateInput } from '../task/validate-input'
import { newTaskId } from '../util/ids'
import type { AppCore } from './app-core'
import { checkEnqueueOptions, checkInput } from './check-enqueue'
import { idempotencyOf, type Prepared } from './idempotency'
import type { EnqueueOptions } from './options'
import { knownTask, settingsOf } from './task-registry'
import { checkPriority, checkQueueName } from './task-settings'

/** Validate, route and build the envelope of one enqueue; nothing is published (or claimed) yet. */
export async function prepareEnqueue(
  core: AppCore,
  taskOrName: TaskDeclaration<unknown, unknown> | string,
  input: unknown,
  enqueueOptions: Omit<EnqueueOptions, 'idempotencyKey'>,
  idempotencyKey?: string,
): Promise<Prepared> {
  const name = typeof taskOrName === 'string' ? taskOrName : taskOrName.name
  const known = knownTask(core, name, typeof taskOrName === 'string' ? undefined : taskOrName)
  const where = `enqueue("${name}")`
  const settings = settingsOf(core, name, known)
  checkQueueName(where, enqueueOptions.queue)
  checkPriority(where, enqueueOptions.priority)
  const idempotency = idempotencyOf(
    where,
    name,
    idempotencyKey,
    enqueueOptions.idempotencyTtlMs,
    settings.idempotencyTtlMs,
  )
  checkEnqueueOptions(where, enqueueOptions)
  const schema = known?.options.schema
  const payload = checkInput(where, schema ? await validateInput(name, schema, input) : input, core.maxPayloadBytes)
  const routed = core.route(name, payload)
  const queue = enqueueOptions.queue ?? settings.queue ?? routed?.queue ?? core.defaultQueue
  const priority = enqueueOptions.priority ?? settings.priority ?? routed?.priority ?? core.defaults.priority ?? 0
  const now = Date.now()
  const notBefore = notBeforeOf(where, enqueueOptions, now)
  if (notBefore !== undefined && core.broker.capabilities.delayedDelivery === 'none') {
    throw new UnsupportedError(`${where}: the ${core.broker.name} broker cannot delay messages; drop delayMs/runAt`)
  }
  const expiresIn = enqueueOptions.expiresInMs ?? settings.expiresInMs
  const envelope: Envelope = {
    id: enqueueOptions.id ?? newTaskId(),
    task: name,
    payload,
    queue,
    priority,
    attempt: 1,
    maxAttempts: enqueueOptions.maxAttempts ?? settings.maxAttempts,
    createdAt: now,
    ...(notBefore !== undefined ? { notBefore } : {}),
    ...(expiresIn !== undefined ? { expiresAt: now + expiresIn } : {}),
    ...(enqueueOptions.parentId !== undefined ? { parentId: enqueueOptions.parentId } : {}),
    ...(enqueueOptions.rootId !== undefined ? { rootId: enqueueOptions.rootId } : {}),
    ...(enqueueOptions.trace !== undefined ? { trace: enqueueOptions.trace } : {}),
    ...headersOf(enqueueOptions, core.results?.enqueueHeaders?.()),
  }
  return idempotency === undefined ? { envelope } : { envelope, idempotency }
}

/**
 * The envelope's headers: the caller's, then the result backend's (which win a clash: see `enqueueHeaders`), then
 * the mark of an attempt limit set for this run (`MAX_ATTEMPTS_HEADER`).
 */
function headersOf(
  options: EnqueueOptions,
  fromResults: Readonly<Record<string, string>> | undefined,
): { headers?: Readonly<Record<string, string>> } {
  const given =
    options.maxAttempts === undefined
      ? options.headers
      : { ...options.headers, [MAX_ATTEMPTS_HEADER]: String(options.maxAttempts) }
  if (fromResults === undefined) return given === undefined ? {} : { headers: given }
  return { headers: given === undefined ? fromResults : { ...given, ...fromResults } }
}

function notBeforeOf(where: string, options: EnqueueOptions, now: number): number | undefined {
  if (options.delayMs !== undefined && options.runAt !== undefined) {
    throw new InvalidOptionsError(`${where}: give delayMs or runAt, not both`)
  }
  if (options.delayMs !== undefined) {
    if (!(Number.isFinite(options.delayMs) && options.delayMs >= 0)) {
      throw new InvalidOptionsError(`${where}: delayMs must be a number of milliseconds ≥ 0, got ${options.delayMs}`)
    }
    return options.delayMs > 0 ? now + options.delayMs : undefined
  }
  if (options.runAt !== undefined) {
    const at = options.runAt instanceof Date ? options.runAt.getTime() : options.runAt
    if (!Number.isFinite(at))
      throw new InvalidOptionsError(`${where}: runAt must be a valid Date or epoch milliseconds`)
    return at > now ? at : undefined
  }
  return undefined
}
