import { ConveyorError } from './conveyor-error'

/** Throw from a handler to dead-letter the task at once, whatever attempts remain. */
export class UnrecoverableError extends ConveyorError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONVEYOR_UNRECOVERABLE', message, options)
  }
}
