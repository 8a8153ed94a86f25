import { ConveyorError } from './conveyor-error'

/** A handler ran past its `timeoutMs`; its AbortSignal was aborted with this error. Retried like any failure. */
export class TaskTimeoutError extends ConveyorError {
  readonly timeoutMs: number

  constructor(task: string, timeoutMs: number) {
    super('CONVEYOR_TASK_TIMEOUT', `task "${task}" exceeded its time limit of ${timeoutMs} ms`)
    this.timeoutMs = timeoutMs
  }
}
