import { ConveyorError } from './conveyor-error'

/** Options or arguments that cannot work: the message names the option and what it accepts. */
export class InvalidOptionsError extends ConveyorError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONVEYOR_INVALID_OPTIONS', message, options)
  }
}
