import type { Broker } from '../contracts/broker'
import type { ResultBackend } from '../contracts/result-backend'
import type { TaskHistory } from '../contracts/task-history'
import type { AppEvents } from '../events/app-events'
import type { Logger } from '../logging/logger'
import type { TaskMetricsRegistry } from '../metrics/task-metrics'
import type { CoordinationStore } from '../ops/coordination'
import type { RevokeOptions } from '../ops/revoke'
import type { TaskDeclaration, TaskHandler, TaskOptions } from '../task/task'
import type { RegisteredTask } from '../worker/runtime'
import type { Worker, WorkerOptions } from '../worker/worker'
import type { WorkflowOptions } from '../workflow/engine'
import type { Flow, StepOptions } from '../workflow/flow'
import type { WorkflowHandle } from '../workflow/handle'
import type { EnqueueManyOptions, EnqueueOptions, JobHandle } from './options'

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
  /** The metrics tasks record through `ctx.metrics` (`createApp({ taskMetrics })`), exported by `collectMetrics`. */
  readonly taskMetrics: TaskMetricsRegistry
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
