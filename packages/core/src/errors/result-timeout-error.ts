import { ConveyorError } from './conveyor-error'

/** `job.result()` or `ResultBackend.wait` did not see a terminal state in time. The task may still finish. */
export class ResultTimeoutError extends ConveyorError {
  readonly id: string

  constructor(id: string, timeoutMs: number) {
    super('CONVEYOR_RESULT_TIMEOUT', `no result for task ${id} within ${timeoutMs} ms; wait longer or check the worker`)
    this.id = id
  }
}
