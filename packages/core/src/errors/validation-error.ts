import { ConveyorError } from './conveyor-error'

/** A task input failed the task's schema. */
export class ValidationError extends ConveyorError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONVEYOR_INVALID_INPUT', message, options)
  }
}
