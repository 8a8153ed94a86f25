import { ConveyorError } from './conveyor-error'

/** The broker does not support what was asked (a delay on a broker without delayed delivery, …). */
export class UnsupportedError extends ConveyorError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONVEYOR_UNSUPPORTED', message, options)
  }
}
