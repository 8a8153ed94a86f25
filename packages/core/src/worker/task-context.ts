import type { Envelope } from '../contracts/envelope'
import type { Logger } from '../logging/logger'
import type { TaskContext } from '../task/task'
import type { Run } from './run'

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
}
