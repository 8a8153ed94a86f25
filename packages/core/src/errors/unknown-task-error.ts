import { ConveyorError } from './conveyor-error'

/** A task name that is not registered where it was needed (enqueue by name, a worker receiving it). */
export class UnknownTaskError extends ConveyorError {
  readonly task: string

  constructor(task: string, message?: string) {
    super(
      'CONVEYOR_UNKNOWN_TASK',
      message ?? `unknown task "${task}": register it with app.task() or app.implement() before using it`,
    )
    this.task = task
  }
}
