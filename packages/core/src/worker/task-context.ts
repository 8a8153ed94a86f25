import type { Envelope } from '../contracts/envelope'
import type { Logger } from '../logging/logger'
import { type TaskMetrics, TaskMetricsRegistry } from '../metrics/task-metrics'
import type { TaskContext } from '../task/task'
import type { Run } from './run'

/** A runtime without task metrics (not made by an app): every metric asked for is undeclared. */
const NONE_DECLARED = new TaskMetricsRegistry()

/** What a handler's `ctx` is: fields copied once, the logger and signal made lazily. */
export class Context implements TaskContext {
  readonly id: string
  readonly task: string
  readonly queue: string
  readonly attempt: number
  readonly maxAttempts: number
  readonly deliveryCount: number

  constructor(
    private readonly run: Run,
    readonly envelope: Envelope,
  ) {
    this.id = envelope.id
    this.task = envelope.task
    this.queue = envelope.queue
    this.attempt = envelope.attempt
    this.maxAttempts = run.maxAttempts
    this.deliveryCount = run.execution.delivery.deliveryCount
  }

  get signal(): AbortSignal {
    return this.run.execution.signal
  }

  get logger(): Logger {
    return this.run.log()
  }

  progress(value: unknown): Promise<void> {
    return this.run.progress(value)
  }

  get metrics(): TaskMetrics {
    return (this.run.runtime.taskMetrics ?? NONE_DECLARED).forTask(this.task)
  }
}
