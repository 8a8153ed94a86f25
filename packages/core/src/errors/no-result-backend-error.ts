import { ConveyorError } from './conveyor-error'

/** Results were asked for but the app has no result backend. */
export class NoResultBackendError extends ConveyorError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONVEYOR_NO_RESULT_BACKEND', message, options)
  }
}
