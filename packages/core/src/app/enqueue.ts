import type { Envelope } from '../contracts/envelope'
import { InvalidOptionsError } from '../errors/invalid-options-error'
import { forgetRecords } from '../results/forget-records'
import type { TaskDeclaration } from '../task/task'
import type { AppCore } from './app-core'
import { announceLocally, announceToStream, unannounce } from './app-events-setup'
import { claimKeys, publishBatch } from './idempotency'
import { jobHandle } from './job-handle'
import type { EnqueueManyOptions, EnqueueOptions, JobHandle } from './options'
import { prepareEnqueue } from './prepare-enqueue'
import { traceSend } from './trace-send'

/** `app.enqueue`: prepare, claim the idempotency key (if any), announce, publish. */
export async function enqueue(
  core: AppCore,
  taskOrName: TaskDeclaration<unknown, unknown> | string,
  input: unknown,
  enqueueOptions: EnqueueOptions = {},
): Promise<JobHandle<unknown>> {
  const { broker, events } = core
  const item = await prepareEnqueue(core, taskOrName, input, enqueueOptions, enqueueOptions.idempotencyKey)
  let { envelope } = item
  await core.declareQueue(envelope.queue)
  // A caller-chosen id may have run before: its old record would answer this run's `result()` at once.
  if (enqueueOptions.id !== undefined && item.idempotency === undefined)
    await forgetRecords(core.results, [envelope.id])
  if (item.idempotency === undefined) {
    const sending = traceSend(core, [envelope])
    if (sending !== undefined) envelope = sending.envelopes[0]!
    await announceToStream(events, [envelope])
    await broker.publish(envelope).then(
      () => sending?.end(),
      (error: unknown) => {
        sending?.end(error)
        unannounce(events, [envelope], error)
        throw error
      },
    )
  } else {
    const claims = await claimKeys(core.coordination, core.logger, [item])
    const held = claims.held[0]
    if (held !== undefined) return jobHandle(core, held.id, envelope.task, held.queue, { duplicate: true })
    const sending = traceSend(core, [envelope])
    if (sending !== undefined) envelope = sending.envelopes[0]!
    try {
      await announceToStream(events, [envelope])
      await broker.publish(envelope)
      sending?.end()
    } catch (error) {
      sending?.end(error)
      unannounce(events, [envelope], error)
      await claims.release()
      throw error
    }
  }
  announceLocally(events, envelope)
  return jobHandle(core, envelope.id, envelope.task, envelope.queue, { enqueued: envelope })
}

/** `app.enqueueMany`: prepare every input, claim their keys, publish the rest in as few round trips as possible. */
export async function enqueueMany(
  core: AppCore,
  taskOrName: TaskDeclaration<unknown, unknown> | string,
  inputs: readonly unknown[],
  enqueueOptions: EnqueueManyOptions = {},
): Promise<JobHandle<unknown>[]> {
  if (!Array.isArray(inputs)) throw new InvalidOptionsError('enqueueMany takes an array of inputs')
  const keyOf = enqueueOptions.idempotencyKey
  if (keyOf !== undefined && typeof keyOf !== 'function') {
    throw new InvalidOptionsError(
      'enqueueMany: idempotencyKey must be a function (input, index) => key giving each input its own key; ' +
        'one key for the whole batch would make every input after the first a duplicate',
    )
  }
  const { events } = core
  const items = await Promise.all(
    inputs.map((input, index) => prepareEnqueue(core, taskOrName, input, enqueueOptions, keyOf?.(input, index))),
  )
  await Promise.all([...new Set(items.map((item) => item.envelope.queue))].map(core.declareQueue))
  const claims = await claimKeys(core.coordination, core.logger, items)
  let envelopes: readonly Envelope[] = items
    .filter((_, index) => claims.held[index] === undefined)
    .map((item) => item.envelope)
  if (envelopes.length > 0) {
    const sending = traceSend(core, envelopes)
    if (sending !== undefined) envelopes = sending.envelopes
    await announceToStream(events, envelopes)
    await publishBatch(core.broker, envelopes, claims).then(
      () => sending?.end(),
      (error: unknown) => {
        sending?.end(error)
        unannounce(events, envelopes, error)
        throw error
      },
    )
  }
  for (const envelope of envelopes) announceLocally(events, envelope)
  return items.map(({ envelope }, index) => {
    const held = claims.held[index]
    return held === undefined
      ? jobHandle(core, envelope.id, envelope.task, envelope.queue, { enqueued: envelope })
      : jobHandle(core, held.id, envelope.task, held.queue, { duplicate: true })
  })
}
