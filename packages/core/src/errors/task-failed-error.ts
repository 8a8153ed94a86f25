import type { TaskRecord } from '../contracts/result-backend'
import { ConveyorError } from './conveyor-error'

/** `job.result()` rejects with this when the task ended without a result (failed, dead-lettered, expired, revoked). */
export class TaskFailedError extends ConveyorError {
  readonly record: TaskRecord

  constructor(record: TaskRecord) {
    const cause = record.error ? `: ${record.error.name}: ${record.error.message}` : ''
    super('CONVEYOR_TASK_FAILED', `task ${record.task} (${record.id}) ended ${record.state}${cause}`)
    this.record = record
  }
}
