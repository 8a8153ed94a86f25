import type { Broker } from '../contracts/broker'
import { type Envelope, MAX_ATTEMPTS_HEADER } from '../contracts/envelope'
import type { ResultBackend, TaskRecord } from '../contracts/result-backend'
import type { TaskHistory } from '../contracts/task-history'
import { InvalidOptionsError } from '../errors/invalid-options-error'
import { NoResultBackendError } from '../errors/no-result-backend-error'
import { TaskFailedError } from '../errors/task-failed-error'
import { UnsupportedError } from '../errors/unsupported-error'
import type { AppEvents } from '../events/app-events'
import { type Logger, resolveLogger } from '../logging/logger'
import type { CoordinationStore } from '../ops/coordination'
import { createMemoryCoordination } from '../ops/memory-coordination'
import { type RevokeOptions, revokeTask } from '../ops/revoke'
import { createRouter } from '../routing/router'
import type { TaskDeclaration, TaskHandler, TaskOptions } from '../task/task'
import { validateInput } from '../task/validate-input'
import { newTaskId } from '../util/ids'
import type { RegisteredTask } from '../worker/runtime'
import { createWorker, type Worker, type WorkerOptions } from '../worker/worker'
import { WorkflowEngine, type WorkflowOptions } from '../workflow/engine'
import { bound, type Flow, type StepOptions } from '../workflow/flow'
import { type WorkflowHandle, workflowHandle } from '../workflow/handle'
import { announceLocally, announceToStream, createAppEvents, unannounce } from './app-events-setup'
import { checkEnqueueOptions, checkInput } from './check-enqueue'
import { claimKeys, idempotencyOf, type Prepared, publishBatch } from './idempotency'
import type { AppOptions, EnqueueManyOptions, EnqueueOptions, JobHandle, ResultOptions } from './options'
import { noResultsHint, resolveBroker, resolveResults } from './resolve'
import { checkDefaults, checkPriority, checkQueueName, taskSettings } from './task-settings'

/** A task the app can enqueue (and run, when implemented here). */
export interface Task<Input, Output> extends TaskDeclaration<Input, Output> {
  enqueue(input: Input, options?: EnqueueOptions): Promise<JobHandle<Output>>
  /** Enqueue many runs with the same options in as few broker round trips as the broker allows. */
  enqueueMany(inputs: readonly Input[], options?: EnqueueManyOptions<Input>): Promise<JobHandle<Output>[]>
  /** This task with its input, as a workflow step: `chain(resize.with(img), upload)`. */
  with(input: Input, options?: StepOptions): Flow<unknown, Output>
}

export interface App {
  readonly broker: Broker
  readonly results: ResultBackend | undefined
  readonly logger: Logger
  /**
   * Task and worker events: in-process listeners (`on`), the cross-process stream (`subscribe({ from })`), publish
   * counters (`stats()`). See docs/events-and-history.md.
   */
  readonly events: AppEvents
  /** Task runs kept for listing and search (the result backend's), or undefined when there is no shared store. */
  readonly history: TaskHistory | undefined
  /** Where idempotency keys are claimed: `createApp({ coordination })`, or this process's memory store. */
  readonly coordination: CoordinationStore
  /** Declare and implement a task in one go. */
  task<Input, Output>(
    name: string,
    handler: TaskHandler<Input, Output>,
    options?: TaskOptions<Input>,
  ): Task<Input, Awaited<Output>>
  /** Implement a task declared elsewhere with `declareTask` (the worker's side). */
  implement<Input, Output>(
    declaration: TaskDeclaration<Input, Output>,
    handler: TaskHandler<Input, Output | Promise<Output>>,
  ): Task<Input, Output>
  /** Enqueue a declared task (typed) or, by name, a task this process may not know (untyped). */
  enqueue<Input, Output>(
    task: TaskDeclaration<Input, Output>,
    input: Input,
    options?: EnqueueOptions,
  ): Promise<JobHandle<Output>>
  enqueue(task: string, input: unknown, options?: EnqueueOptions): Promise<JobHandle<unknown>>
  /** Enqueue many runs of one task in as few broker round trips as the broker allows (`Broker.publishMany`). */
  enqueueMany<Input, Output>(
    task: TaskDeclaration<Input, Output>,
    inputs: readonly Input[],
    options?: EnqueueManyOptions<Input>,
  ): Promise<JobHandle<Output>[]>
  enqueueMany<Input = unknown>(
    task: string,
    inputs: readonly Input[],
    options?: EnqueueManyOptions<Input>,
  ): Promise<JobHandle<unknown>[]>
  /**
   * Start a workflow (`chain`, `group`, `chord`): its plan is stored and its first members published. Needs a result
   * backend with `capabilities.workflowCounting: 'atomic'`; otherwise rejects with `WorkflowsUnsupportedError`.
   */
  enqueueWorkflow<Output>(flow: Flow<unknown, Output>, options?: WorkflowOptions): Promise<WorkflowHandle<Output>>
  /** A handle on a workflow by id (from another process); undefined when its plan expired or never existed. */
  workflow<Output = unknown>(id: string): Promise<WorkflowHandle<Output> | undefined>
  /**
   * Revoke a run by id in the app's `coordination` store (workers with `revokeHooks` skip it). With
   * `terminate: true` a run already running stops: at once in this process's workers, and under `conveyor worker`
   * wherever it runs (the supervisor reads the store).
   */
  revoke(id: string, options?: RevokeOptions): Promise<void>
  /** A handle on a task run by id (from another process, a log line). */
  job<Output = unknown>(id: string, task?: string, queue?: string): JobHandle<Output>
  /** Tasks known to this app. */
  tasks(): readonly RegisteredTask[]
  /** A worker consuming the given queues with this app's tasks. Call `start()` on it. */
  worker(options?: WorkerOptions): Worker
  /** Stop the workers this app made (gracefully, up to `timeoutMs`), then close the broker and result backend. */
  close(options?: { timeoutMs?: number }): Promise<void>
}

/** The one entry point: `createApp({ broker: process.env.CONVEYOR_BROKER_URL ?? 'memory://' })`. */
export function createApp(options: AppOptions): App {
  const adapters = options.adapters ?? []
  const defaults = options.defaults ?? {}
  checkDefaults(defaults)
  const logger = resolveLogger(options.logger)
  const broker = resolveBroker(options.broker, adapters, logger)
  const results = resolveResults(options.results, options.broker, adapters, logger)
  const coordination = options.coordination ?? createMemoryCoordination()
  const events = createAppEvents(options.events, broker, results, logger)
  const route = createRouter(options.routes)
  const registry = new Map<string, RegisteredTask>()
  const workers = new Set<Worker>()
  const declared = new Map<string, Promise<void>>()
  const defaultQueue = defaults.queue ?? 'default'
  let connecting: Promise<void> | undefined
  let closing: Promise<void> | undefined

  const ready = () => {
    connecting ??= Promise.all([broker.connect(), results?.connect()]).then(() => undefined)
    return connecting
  }

  const declareQueue = (queue: string): Promise<void> => {
    let done = declared.get(queue)
    if (done === undefined) {
      done = ready().then(() => broker.declare({ name: queue }))
      done.catch(() => declared.delete(queue))
      declared.set(queue, done)
    }
    return done
  }

  const register = (
    name: string,
    taskOptions: TaskOptions<unknown>,
    handler: TaskHandler<unknown, unknown> | undefined,
  ): RegisteredTask => {
    const existing = registry.get(name)
    if (existing?.handler && handler && existing.handler !== handler) {
      throw new InvalidOptionsError(`task "${name}" is already implemented in this app; task names must be unique`)
    }
    const entry: RegisteredTask = {
      name,
      options: taskOptions,
      settings: taskSettings(name, taskOptions, defaults),
      ...((handler ?? existing?.handler) ? { handler: handler ?? existing?.handler } : {}),
    }
    registry.set(name, entry)
    return entry
  }

  /** `enqueued`: the envelope this process published; lets `record()` say `pending` before a worker wrote anything. */
  const handle = <Output>(
    id: string,
    task: string,
    queue: string,
    enqueued?: Envelope,
    duplicate = false,
  ): JobHandle<Output> => ({
    id,
    task,
    queue,
    duplicate,
    async result(resultOptions: ResultOptions = {}) {
      if (!results) {
        throw new NoResultBackendError(noResultsHint(broker.name))
      }
      await ready()
      const record = await results.wait(id, {
        timeoutMs: resultOptions.timeoutMs ?? 30_000,
        ...(resultOptions.signal ? { signal: resultOptions.signal } : {}),
      })
      if (record.state !== 'succeeded') throw new TaskFailedError(record)
      return record.result as Output
    },
    async record() {
      if (!results) throw new NoResultBackendError(noResultsHint(broker.name))
      await ready()
      const stored = await results.get(id)
      if (stored !== undefined || enqueued === undefined) return stored
      // Nothing written yet: it is waiting on the broker (enqueues do not pay a result write).
      return {
        id,
        task,
        queue,
        state: 'pending',
        attempt: 1,
        enqueuedAt: enqueued.createdAt,
        updatedAt: enqueued.createdAt,
      } satisfies TaskRecord
    },
  })

  /** Validate, route and build the envelope of one enqueue; nothing is published (or claimed) yet. */
  const prepare = async (
    taskOrName: TaskDeclaration<unknown, unknown> | string,
    input: unknown,
    enqueueOptions: Omit<EnqueueOptions, 'idempotencyKey'>,
    idempotencyKey: string | undefined,
  ): Promise<Prepared> => {
    const name = typeof taskOrName === 'string' ? taskOrName : taskOrName.name
    const known =
      registry.get(name) ?? (typeof taskOrName === 'string' ? undefined : register(name, taskOrName.options, undefined))
    const where = `enqueue("${name}")`
    const settings = known?.settings ?? taskSettings(name, {}, defaults)
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
    const payload = checkInput(
      where,
      schema ? await validateInput(name, schema, input) : input,
      options.maxPayloadBytes,
    )
    const routed = route(name, payload)
    const queue = enqueueOptions.queue ?? settings.queue ?? routed?.queue ?? defaultQueue
    const priority = enqueueOptions.priority ?? settings.priority ?? routed?.priority ?? defaults.priority ?? 0
    const now = Date.now()
    const notBefore = notBeforeOf(where, enqueueOptions, now)
    if (notBefore !== undefined && broker.capabilities.delayedDelivery === 'none') {
      throw new UnsupportedError(`${where}: the ${broker.name} broker cannot delay messages; drop delayMs/runAt`)
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
      ...headersOf(enqueueOptions, results?.enqueueHeaders?.()),
    }
    return idempotency === undefined ? { envelope } : { envelope, idempotency }
  }

  const enqueue = async (
    taskOrName: TaskDeclaration<unknown, unknown> | string,
    input: unknown,
    enqueueOptions: EnqueueOptions = {},
  ): Promise<JobHandle<unknown>> => {
    const item = await prepare(taskOrName, input, enqueueOptions, enqueueOptions.idempotencyKey)
    const { envelope } = item
    await declareQueue(envelope.queue)
    if (item.idempotency === undefined) {
      await announceToStream(events, [envelope])
      await broker.publish(envelope).catch((error: unknown) => {
        unannounce(events, [envelope], error)
        throw error
      })
    } else {
      const claims = await claimKeys(coordination, logger, [item])
      const held = claims.held[0]
      if (held !== undefined) return handle(held.id, envelope.task, held.queue, undefined, true)
      try {
        await announceToStream(events, [envelope])
        await broker.publish(envelope)
      } catch (error) {
        unannounce(events, [envelope], error)
        await claims.release()
        throw error
      }
    }
    announceLocally(events, envelope)
    return handle(envelope.id, envelope.task, envelope.queue, envelope)
  }

  const enqueueMany = async (
    taskOrName: TaskDeclaration<unknown, unknown> | string,
    inputs: readonly unknown[],
    enqueueOptions: EnqueueManyOptions = {},
  ): Promise<JobHandle<unknown>[]> => {
    if (!Array.isArray(inputs)) throw new InvalidOptionsError('enqueueMany takes an array of inputs')
    const keyOf = enqueueOptions.idempotencyKey
    if (keyOf !== undefined && typeof keyOf !== 'function') {
      throw new InvalidOptionsError(
        'enqueueMany: idempotencyKey must be a function (input, index) => key giving each input its own key; ' +
          'one key for the whole batch would make every input after the first a duplicate',
      )
    }
    const items = await Promise.all(
      inputs.map((input, index) => prepare(taskOrName, input, enqueueOptions, keyOf?.(input, index))),
    )
    await Promise.all([...new Set(items.map((item) => item.envelope.queue))].map(declareQueue))
    const claims = await claimKeys(coordination, logger, items)
    const envelopes = items.filter((_, index) => claims.held[index] === undefined).map((item) => item.envelope)
    if (envelopes.length > 0) {
      await announceToStream(events, envelopes)
      await publishBatch(broker, envelopes, claims).catch((error: unknown) => {
        unannounce(events, envelopes, error)
        throw error
      })
    }
    for (const envelope of envelopes) announceLocally(events, envelope)
    return items.map(({ envelope }, index) => {
      const held = claims.held[index]
      return held === undefined
        ? handle(envelope.id, envelope.task, envelope.queue, envelope)
        : handle(held.id, envelope.task, held.queue, undefined, true)
    })
  }

  const workflows = new WorkflowEngine({
    results,
    logger,
    place: ({ task, declaration }) => {
      const known = registry.get(task) ?? (declaration && register(task, declaration.options, undefined))
      const settings = known?.settings ?? taskSettings(task, {}, defaults)
      const routed = route(task, undefined)
      const priority = settings.priority ?? routed?.priority
      return { queue: settings.queue ?? routed?.queue ?? defaultQueue, ...(priority !== undefined ? { priority } : {}) }
    },
    build: (task, input, o) => prepare(task, input, o, undefined).then((prepared) => prepared.envelope),
    async publish(envelopes) {
      await Promise.all([...new Set(envelopes.map((e) => e.queue))].map(declareQueue))
      if (broker.publishMany) await broker.publishMany(envelopes)
      else await Promise.all(envelopes.map((e) => broker.publish(e)))
    },
  })

  // Where the tasks this process implements are published, as far as their names tell (predicate routes need input).
  const queuesOf = (): string[] => {
    const queues = new Set<string>()
    for (const entry of registry.values()) {
      if (entry.handler) queues.add(entry.settings.queue ?? route(entry.name, undefined)?.queue ?? defaultQueue)
    }
    return queues.size > 0 ? [...queues] : [defaultQueue]
  }

  const bind = <Input, Output>(entry: RegisteredTask): Task<Input, Output> =>
    Object.freeze({
      name: entry.name,
      options: entry.options as TaskOptions<Input>,
      enqueue: (input: Input, enqueueOptions?: EnqueueOptions) =>
        enqueue(entry.name, input, enqueueOptions) as Promise<JobHandle<Output>>,
      enqueueMany: (inputs: readonly Input[], enqueueOptions?: EnqueueManyOptions<Input>) =>
        enqueueMany(entry.name, inputs, enqueueOptions as EnqueueManyOptions) as Promise<JobHandle<Output>[]>,
      with: (input: Input, stepOptions?: StepOptions) =>
        bound({ name: entry.name, options: entry.options } as TaskDeclaration<Input, Output>, input, stepOptions),
    })

  const app: App = {
    broker,
    results,
    logger,
    events,
    history: events.history,
    coordination,
    task<Input, Output>(name: string, handler: TaskHandler<Input, Output>, taskOptions: TaskOptions<Input> = {}) {
      const entry = register(name, taskOptions as TaskOptions<unknown>, handler as TaskHandler<unknown, unknown>)
      return bind<Input, Awaited<Output>>(entry)
    },
    implement<Input, Output>(
      declaration: TaskDeclaration<Input, Output>,
      handler: TaskHandler<Input, Output | Promise<Output>>,
    ) {
      const entry = register(
        declaration.name,
        declaration.options as TaskOptions<unknown>,
        handler as TaskHandler<unknown, unknown>,
      )
      return bind<Input, Output>(entry)
    },
    enqueue: enqueue as App['enqueue'],
    enqueueMany: enqueueMany as App['enqueueMany'],
    async enqueueWorkflow<Output>(flow: Flow<unknown, Output>, workflowOptions?: WorkflowOptions) {
      workflows.store()
      await ready()
      const index = await workflows.start(flow as Flow<unknown, unknown>, workflowOptions)
      return workflowHandle<Output>(index, workflows, results!, ready)
    },
    async workflow<Output>(id: string) {
      workflows.store()
      await ready()
      const index = await workflows.plan(id)
      return index && workflowHandle<Output>(index, workflows, results!, ready)
    },
    async revoke(id: string, revokeOptions: RevokeOptions = {}) {
      await revokeTask(coordination, id, revokeOptions)
      if (revokeOptions.terminate) for (const worker of workers) worker.terminate(id)
    },
    job: <Output>(id: string, task = '', queue = '') => handle<Output>(id, task, queue),
    tasks: () => [...registry.values()],
    worker(workerOptions: WorkerOptions = {}) {
      const worker = createWorker(
        {
          broker,
          results,
          logger,
          events,
          registry,
          defaultQueue,
          ready,
          declareQueue,
          queuesOf,
          workflows,
          closeApp: () => app.close(),
        },
        workerOptions,
      )
      workers.add(worker)
      return worker
    },
    close(closeOptions = {}) {
      // Every caller waits for the same close; a later `{ timeoutMs: 0 }` still cuts the workers' drain short.
      const stopping = Promise.all([...workers].map((w) => w.stop(closeOptions)))
      closing ??= (async () => {
        await stopping
        await events.close()
        await broker.close(closeOptions)
        await results?.close()
      })()
      return closing
    },
  }
  return app
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
