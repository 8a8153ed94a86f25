import { ConveyorError } from './conveyor-error'

/** The run was revoked with `terminate: true` while it ran: its handler's signal aborts with this error. */
export class TaskRevokedError extends ConveyorError {
  constructor(readonly taskId: string) {
    super('CONVEYOR_TASK_REVOKED', `task run ${taskId} was revoked while running (terminate)`)
  }
}
