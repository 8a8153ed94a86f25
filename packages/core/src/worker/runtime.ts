import type { TaskSettings } from '../app/task-settings'
import type { Broker } from '../contracts/broker'
import type { ResultBackend } from '../contracts/result-backend'
import type { TaskEventEmitter } from '../events/events'
import type { Logger } from '../logging/logger'
import type { TaskHandler, TaskOptions } from '../task/task'

/** A task registered with an app: its declaration, settings, and handler when this process implements it. */
export interface RegisteredTask {
  readonly name: string
  readonly options: TaskOptions<unknown>
  readonly settings: TaskSettings
  readonly handler?: TaskHandler<unknown, unknown>
}

/** What a worker needs from its app. */
export interface WorkerRuntime {
  readonly broker: Broker
  readonly results: ResultBackend | undefined
  readonly logger: Logger
  readonly events: TaskEventEmitter
  readonly registry: ReadonlyMap<string, RegisteredTask>
  readonly defaultQueue: string
  ready(): Promise<void>
  declareQueue(queue: string): Promise<void>
}
