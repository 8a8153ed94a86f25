import { type RevokeOptions, revokeTask } from '../ops/revoke'
import type { TaskDeclaration, TaskHandler, TaskOptions } from '../task/task'
import type { RegisteredTask } from '../worker/runtime'
import { createWorker, type Worker, type WorkerOptions } from '../worker/worker'
import type { WorkflowEngine, WorkflowOptions } from '../workflow/engine'
import { bound, type Flow, type StepOptions } from '../workflow/flow'
import { workflowHandle } from '../workflow/handle'
import type { App, Task } from './app'
import { type AppCore, createAppCore } from './app-core'
import { createAppWorkflows } from './app-workflows'
import { enqueue, enqueueMany } from './enqueue'
import { jobHandle } from './job-handle'
import type { AppOptions, EnqueueManyOptions, EnqueueOptions, JobHandle } from './options'
import { implementedQueues, registerTask } from './task-registry'

export type { App, Task } from './app'

/** The one entry point: `createApp({ broker: process.env.CONVEYOR_BROKER_URL ?? 'memory://' })`. */
export function createApp(options: AppOptions): App {
  const core = createAppCore(options)
  const { broker, results, logger, events, coordination, registry } = core
  const workflows = createAppWorkflows(core)
  const workers = new Set<Worker>()
  let closing: Promise<void> | undefined

  const app: App = {
    broker,
    results,
    logger,
    events,
    history: events.history,
    coordination,
    taskMetrics: core.taskMetrics,
    task<Input, Output>(name: string, handler: TaskHandler<Input, Output>, taskOptions: TaskOptions<Input> = {}) {
      const entry = registerTask(
        core,
        name,
        taskOptions as TaskOptions<unknown>,
        handler as TaskHandler<unknown, unknown>,
      )
      return bindTask<Input, Awaited<Output>>(core, entry)
    },
    implement<Input, Output>(
      declaration: TaskDeclaration<Input, Output>,
      handler: TaskHandler<Input, Output | Promise<Output>>,
    ) {
      const options = declaration.options as TaskOptions<unknown>
      const entry = registerTask(core, declaration.name, options, handler as TaskHandler<unknown, unknown>)
      return bindTask<Input, Output>(core, entry)
    },
    enqueue: ((taskOrName: TaskDeclaration<unknown, unknown> | string, input: unknown, o?: EnqueueOptions) =>
      enqueue(core, taskOrName, input, o)) as App['enqueue'],
    enqueueMany: ((taskOrName: TaskDeclaration<unknown, unknown> | string, inputs: unknown[], o?: EnqueueManyOptions) =>
      enqueueMany(core, taskOrName, inputs, o)) as App['enqueueMany'],
    async enqueueWorkflow<Output>(flow: Flow<unknown, Output>, workflowOptions?: WorkflowOptions) {
      workflows.store()
      await core.ready()
      const index = await workflows.start(flow as Flow<unknown, unknown>, workflowOptions)
      return workflowHandle<Output>(index, workflows, results!, core.ready)
    },
    async workflow<Output>(id: string) {
      workflows.store()
      await core.ready()
      const index = await workflows.plan(id)
      return index && workflowHandle<Output>(index, workflows, results!, core.ready)
    },
    async revoke(id: string, revokeOptions: RevokeOptions = {}) {
      await revokeTask(coordination, id, revokeOptions)
      if (revokeOptions.terminate) for (const worker of workers) worker.terminate(id)
    },
    job: <Output>(id: string, task = '', queue = '') => jobHandle<Output>(core, id, task, queue),
    tasks: () => [...registry.values()],
    worker(workerOptions: WorkerOptions = {}) {
      const worker = appWorker(core, workflows, () => app.close(), workerOptions)
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

/** The frozen `Task` object `app.task` and `app.implement` return. */
function bindTask<Input, Output>(core: AppCore, entry: RegisteredTask): Task<Input, Output> {
  return Object.freeze({
    name: entry.name,
    options: entry.options as TaskOptions<Input>,
    enqueue: (input: Input, enqueueOptions?: EnqueueOptions) =>
      enqueue(core, entry.name, input, enqueueOptions) as Promise<JobHandle<Output>>,
    enqueueMany: (inputs: readonly Input[], enqueueOptions?: EnqueueManyOptions<Input>) =>
      enqueueMany(core, entry.name, inputs, enqueueOptions as EnqueueManyOptions) as Promise<JobHandle<Output>[]>,
    with: (input: Input, stepOptions?: StepOptions) =>
      bound({ name: entry.name, options: entry.options } as TaskDeclaration<Input, Output>, input, stepOptions),
  })
}

function appWorker(
  core: AppCore,
  workflows: WorkflowEngine,
  closeApp: () => Promise<void>,
  workerOptions: WorkerOptions,
): Worker {
  const { broker, results, logger, events, registry, defaultQueue, ready, declareQueue, tracing, taskMetrics } = core
  const runtime = {
    broker,
    results,
    logger,
    events,
    registry,
    defaultQueue,
    ready,
    declareQueue,
    workflows,
    closeApp,
    tracing,
    taskMetrics,
  }
  return createWorker({ ...runtime, queuesOf: () => implementedQueues(core) }, workerOptions)
}
