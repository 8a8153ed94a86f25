import { ConveyorError } from './conveyor-error'

/** The broker or result backend is closed, or not reachable yet. */
export class NotConnectedError extends ConveyorError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONVEYOR_NOT_CONNECTED', message, options)
  }
}
